namespace Ftte.Engine.Planning;

/// <summary>
/// The one block a training session draws every buffer from, sized by its <see cref="MemoryPlan"/>.
/// A buffer is handed out only at its planned offset and only up to its planned size; the arena records
/// the highest float actually handed out, so a test can hold the plan to account.
/// </summary>
public sealed class Arena
{
    private readonly float[] _block;
    private readonly MemoryPlan _plan;

    public Arena(MemoryPlan plan)
    {
        _plan = plan;
        _block = new float[plan.ArenaFloats];
    }

    public long CapacityBytes => (long)_block.Length * sizeof(float);
    /// <summary>Highest byte handed out so far (offset + requested length).</summary>
    public long HighWaterBytes { get; private set; }

    /// <summary>Buffer <paramref name="index"/> of the plan, its first <paramref name="floats"/> floats.</summary>
    public Span<float> Get(int index, long floats)
    {
        if (index < 0) return [];
        var b = _plan.Buffers[index];
        if (floats > b.Floats)
            throw new InvalidOperationException($"Buffer '{b.Name}' was planned at {b.Floats} floats but {floats} were requested: the memory plan and the runtime disagree.");
        long end = (b.Offset + floats) * sizeof(float);
        if (end > HighWaterBytes) HighWaterBytes = end;
        return _block.AsSpan((int)b.Offset, (int)floats);
    }

    /// <summary>The whole planned buffer.</summary>
    public Span<float> Get(int index) => index < 0 ? [] : Get(index, _plan.Buffers[index].Floats);
}
