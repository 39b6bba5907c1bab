using Ftte.Core;
using Ftte.Engine;

namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>Server → member when its group seals: the round's public parameters and the member's index; answer with keys.</summary>
public sealed record GroupInvitation(SecAggParameters Parameters, int MemberIndex);

/// <summary>
/// Server → member with its shares: how to encode Δ before masking, the same for every member of the group except the
/// age weight. <see cref="Weight"/> is s(P − base), P the version the group is planned to be applied at (the server
/// knows each member's base version, so a is public to it and needs no word of its own in the sum).
/// </summary>
/// <param name="ClipNorm">DP: clip Δ to this L2 norm first; null: no clipping.</param>
/// <param name="NoiseStddev">DP distributed mode: the member's noise share per coordinate, added after weighting; 0: none.</param>
/// <param name="ValueRange">c: values are clamped to [−c, c].</param>
/// <param name="ValueBits">b-bit stochastic quantisation; null: the finest fixed point for <paramref name="GroupSize"/> summands.</param>
public sealed record MaskPlan(double Weight, double? ClipNorm, double NoiseStddev, double ValueRange, int RingBits, int? ValueBits, int GroupSize)
{
    public FixedPointEncoding Encoding() => ValueBits is { } bits
        ? FixedPointEncoding.Quantised(ValueRange, bits, RingBits)
        : FixedPointEncoding.ForSummands(ValueRange, GroupSize, RingBits);

    /// <summary>Bytes in a plain framing: weight, clip, noise and range as doubles, ring, value bits and group as ints.</summary>
    public const int WireBytes = 4 * 8 + 3 * 4;
}

/// <summary>
/// A device's part of one secure aggregation group: its <see cref="ClientSession"/> and the encoding of its update.
/// The same code runs on real devices and, in simulation, in-process for each simulated member.
/// </summary>
public sealed class SecureMember : IDisposable
{
    private readonly ClientSession _session;
    private MaskPlan? _plan;

    /// <param name="seed">Null on real devices (OS randomness); simulations seed each member for reproducible runs.</param>
    public SecureMember(GroupInvitation invitation, ulong? seed = null)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        _session = new ClientSession(invitation.Parameters, invitation.MemberIndex, seed);
    }

    public long RoundId => _session.RoundId;
    /// <summary>True once the shares have arrived: the member may mask its update.</summary>
    public bool CanMask => _plan is not null;

    public AdvertiseKeys Advertise() => _session.AdvertiseKeys();
    public ShareKeys Share(KeysBroadcast broadcast) => _session.ShareKeys(broadcast);

    public void Receive(SharesDelivery delivery, MaskPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        _session.ReceiveShares(delivery);
        _plan = plan;
    }

    /// <summary>
    /// Round 2: <paramref name="values"/> (the trained coordinates of Δ, in the task's range order; overwritten) are
    /// clipped to C (DP), weighted by a (≤ 1, so the sensitivity stays C), noised with the member's share — after the
    /// weighting, so that a stale update never carries less than its share of N(0, z²C²) — encoded and masked. In a 2^16
    /// ring only the low 16 bits of each word are kept (they travel as 2 bytes).
    /// </summary>
    public MaskedInput Mask(Span<float> values, NoiseSource noise, Rng rounding)
    {
        var plan = _plan ?? throw new InvalidOperationException("A member masks only after its shares arrived (round 1).");
        WeightRange[] all = [new WeightRange(0, values.Length)];
        if (plan.ClipNorm is { } c) ClientDp.Clip(values, all, c);
        if (plan.Weight != 1.0)
            for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] * plan.Weight);
        if (plan.NoiseStddev > 0) ClientDp.AddGaussianNoise(values, all, plan.NoiseStddev, noise);
        var encoding = plan.Encoding();
        var words = new uint[values.Length];
        encoding.Encode(values, words, rounding);
        var masked = _session.MaskInput(words);
        for (int i = 0; i < masked.Values.Length; i++) masked.Values[i] = encoding.Reduce(masked.Values[i]);
        return masked;
    }

    public UnmaskResponse Unmask(UnmaskRequest request) => _session.Unmask(request);

    public void Dispose() => _session.Dispose();
}
