namespace Ftte.Federation.Compression;

/// <summary>
/// Which codec each device's updates travel with: one codec for all, and overrides by tier (a sensor on a slow
/// uplink sends q4 while phones send q8). Immutable.
/// </summary>
public sealed class CodecPolicy
{
    private readonly Dictionary<string, UpdateCodec> _tiers;

    public CodecPolicy(UpdateCodec codec, IReadOnlyDictionary<string, UpdateCodec>? tiers = null)
    {
        ArgumentNullException.ThrowIfNull(codec);
        Codec = codec;
        _tiers = tiers is null ? [] : new Dictionary<string, UpdateCodec>(tiers, StringComparer.Ordinal);
    }

    /// <summary>The codec of devices whose tier has no override.</summary>
    public UpdateCodec Codec { get; }
    /// <summary>Overrides by tier name.</summary>
    public IReadOnlyDictionary<string, UpdateCodec> Tiers => _tiers;

    /// <summary>The codec of a device of <paramref name="tier"/>.</summary>
    public UpdateCodec For(string tier) => _tiers.GetValueOrDefault(tier, Codec);

    /// <summary>From names (see <see cref="UpdateCodec.Parse"/>); throws <see cref="FormatException"/> naming the bad one and the allowed names.</summary>
    public static CodecPolicy Parse(string codec, IReadOnlyDictionary<string, string>? tiers = null)
    {
        var byTier = new Dictionary<string, UpdateCodec>(StringComparer.Ordinal);
        foreach (var (tier, name) in tiers ?? new Dictionary<string, string>())
        {
            if (!UpdateCodec.TryParse(name, out var c, out string? error)) throw new FormatException($"tier '{tier}': {error}");
            byTier[tier] = c;
        }
        return new CodecPolicy(UpdateCodec.Parse(codec), byTier);
    }

    /// <summary>"q8" or "q8; sensor: q4, smartwatch: q4".</summary>
    public override string ToString() =>
        _tiers.Count == 0 ? Codec.Name : $"{Codec.Name}; {string.Join(", ", _tiers.Select(t => $"{t.Key}: {t.Value.Name}"))}";
}
