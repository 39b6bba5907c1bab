using Ftte.Core.Config;
using Ftte.Federation.Privacy.SecAgg;

namespace Ftte.Federation.Config;

/// <summary>Secure aggregation of a buffered strategy (ftte): each server step is the unmasked sum of a SecAgg+ group.</summary>
public sealed record SecureAggregationConfig
{
    [ConfigDoc("γ: share of a group's members expected not to deliver before it closes; sizes the group (G) and the SecAgg+ graph.")]
    [ConfigRange(0, 0.9)]
    public double DropoutRate { get; init; } = 0.1;
    [ConfigDoc("G: members per group (≥ bufferSize); absent: the smallest G for which K deliver with probability ≥ 0.999.")]
    [ConfigRange(2, 258)]
    public int? GroupSize { get; init; }
    [ConfigDoc("Seconds a group waits for its other members once K have sent; then it closes and the rest are cut.")]
    [ConfigRange(0)]
    public double GraceSeconds { get; init; } = 10;
    [ConfigDoc("Ring Z_2^r of the masked words: 32, or 16 (2 bytes per value up; sums of up to 258 8-bit values).")]
    [ConfigRange(16, 32)]
    public int RingBits { get; init; } = 32;
    [ConfigDoc("Quantise each value to this many bits (stochastic rounding) before masking, e.g. 8; absent: the finest fixed point the ring allows.")]
    [ConfigRange(2, 24)]
    public int? ValueBits { get; init; }
    [ConfigDoc("c: values are clamped to [−c, c] before encoding; absent: from privacy (C, plus 6 standard deviations of a device's noise share) or 1.")]
    [ConfigRange(1e-9)]
    public double? ValueRange { get; init; }

    public SecureAggregationOptions ToOptions() => new()
    {
        DropoutRate = DropoutRate, GroupSize = GroupSize, GraceSeconds = GraceSeconds, RingBits = RingBits, ValueBits = ValueBits, ValueRange = ValueRange,
    };
}
