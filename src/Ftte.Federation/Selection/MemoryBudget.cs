using System.Globalization;
using Ftte.Core;

namespace Ftte.Federation.Selection;

public enum BudgetRule { Minimum, Quantile, Fixed }

/// <summary>
/// FTTE's memory budget M_min (Tenison et al., arXiv 2510.03165): the training memory the chosen trainable
/// set must fit in. The paper sizes it for the most constrained device (<see cref="BudgetRule.Minimum"/>);
/// a quantile lets the weakest few devices go in exchange for a larger subset; a fixed number of bytes
/// targets a hardware class. Devices whose declared memory is below the chosen set's planned peak are then
/// left out (<see cref="Participation.ByMemory"/>), and the report says how many.
/// </summary>
/// <param name="Value">Quantile q in [0, 1] for <see cref="BudgetRule.Quantile"/>; bytes for <see cref="BudgetRule.Fixed"/>.</param>
public sealed record MemoryBudget(BudgetRule Rule, double Value = 0)
{
    public static MemoryBudget Minimum { get; } = new(BudgetRule.Minimum);
    public static MemoryBudget Quantile(double q) =>
        q is >= 0 and <= 1 ? new(BudgetRule.Quantile, q) : throw new ArgumentOutOfRangeException(nameof(q), q, "A budget quantile lies in [0, 1], e.g. q0.1.");
    public static MemoryBudget Bytes(long bytes) =>
        bytes > 0 ? new(BudgetRule.Fixed, bytes) : throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "A memory budget must be positive.");

    /// <summary>Parses "min" (or "minimum"), "q0.1" (quantile), or a byte size such as "512KiB" / "262144".</summary>
    public static MemoryBudget Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        if (t is "min" or "minimum") return Minimum;
        if (t.StartsWith('q') || t.StartsWith('Q'))
        {
            if (!double.TryParse(t.AsSpan(1), NumberStyles.Float, CultureInfo.InvariantCulture, out double q) || q is < 0 or > 1)
                throw new FormatException($"Memory budget '{text}': a quantile is written q followed by a number in [0, 1], e.g. q0.1.");
            return Quantile(q);
        }
        try { return Bytes(ByteSize.Parse(t)); }
        catch (FormatException) { throw new FormatException($"Memory budget '{text}' is not 'min', a quantile like q0.1, or a byte size like 512KiB."); }
    }

    /// <summary>
    /// The budget in bytes for these devices. Quantile q: the memory of the device at sorted position ⌊q·n⌋
    /// (ascending, clamped to n−1), so at most ⌊q·n⌋ devices — a share q — have less than the budget;
    /// q = 0 is the minimum.
    /// </summary>
    public long Resolve(IReadOnlyList<DeviceInfo> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        if (Rule == BudgetRule.Fixed) return (long)Value;
        if (devices.Count == 0) throw new InvalidOperationException("A memory budget from the fleet needs at least one device.");
        var memory = devices.Select(d => d.MemoryBytes).Order().ToArray();
        if (Rule == BudgetRule.Minimum) return memory[0];
        int index = Math.Min(memory.Length - 1, (int)Math.Floor(Value * memory.Length + 1e-9));
        return memory[index];
    }

    public override string ToString() => Rule switch
    {
        BudgetRule.Minimum => "min",
        BudgetRule.Quantile => "q" + Value.ToString("0.###", CultureInfo.InvariantCulture),
        _ => ByteSize.Format((long)Value),
    };
}
