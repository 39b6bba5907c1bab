using Ftte.Core;

namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>
/// Float vectors ↔ SecAgg inputs: fixed-point integers in Z_2^32 (two's complement), so masks add and cancel
/// exactly. A value x becomes q = round(clamp(x, −C, C) · S), an integer in [−L, L] with L = ⌊C·S⌋; n such values
/// sum without wrapping while n·L ≤ 2^31 − 1 (<see cref="MaxSummands"/>), and the sum decodes as (int)Σq / S.
/// Error per coordinate of a sum of n: ≤ n/(2S) with round-to-nearest, unbiased with stochastic rounding.
/// <para><b>Choosing S.</b> <see cref="ForSummands"/> gives the finest scale for a group size: for C = 1 and 100
/// clients S ≈ 2.1·10^7 (resolution 5·10^−8, below float32's own precision near 1).</para>
/// <para><b>With the quantiser</b> (the q8/q4 codecs: small integers and a scale per block). Masks are uniform over
/// the whole ring, so each client's integers must mean the same thing: the server fixes the block scales for the
/// whole aggregation group — e.g. s_b = C_b/127 for q8 from a per-block clip C_b sent with the task, or from the
/// previous step's aggregate — and every member quantises Δ_b to q = stochastic_round(Δ_b/s_b) ∈ [−127, 127]
/// (unbiased), passes those integers as its input (the words of <see cref="ClientSession.MaskInput"/> are any
/// integers mod 2^32) and the server dequantises Σq·s_b. Per-device scales cannot be summed under masks.
/// The sum of G q8 values needs 8 + log2 G bits, so a ring of 2^16 (G ≤ 258) halves the uplink against 2^32.
/// <para><b>Narrower rings.</b> With <c>ringBits</c> = 16 a device sends only the low 16 bits of each masked word: the
/// masks, uniform mod 2^32, stay uniform mod 2^16 and still cancel there (reduction mod 2^16 is a ring homomorphism),
/// so the server's sum mod 2^32 is right in its low 16 bits, which <see cref="Decode(uint)"/> sign-extends.</para>
/// </summary>
public sealed class FixedPointEncoding
{
    /// <param name="clip">C &gt; 0: values are clamped to [−C, C] before scaling.</param>
    /// <param name="scale">S &gt; 0: one unit of the integer is 1/S; C·S must be at least 1 and at most 2^(r−1) − 1.</param>
    /// <param name="ringBits">r: the ring is Z_2^r, 32 (a whole word) or 16 (half a word on the wire).</param>
    public FixedPointEncoding(double clip, double scale, int ringBits = 32)
    {
        if (!(clip > 0) || double.IsInfinity(clip)) throw new ArgumentOutOfRangeException(nameof(clip), clip, "The clip range must be a positive finite number.");
        if (!(scale > 0) || double.IsInfinity(scale)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "The scale must be a positive finite number.");
        if (ringBits is not (16 or 32)) throw new ArgumentOutOfRangeException(nameof(ringBits), ringBits, "The ring is 2^16 or 2^32.");
        RingBits = ringBits;
        double limit = Math.Floor(clip * scale);
        if (limit < 1 || limit > MaxSum)
            throw new ArgumentOutOfRangeException(nameof(scale), scale, $"clip × scale = {clip * scale:G4} must be between 1 and 2^{ringBits - 1} − 1 so that one value fits a signed {ringBits}-bit word.");
        Clip = clip;
        Scale = scale;
        Limit = (int)limit;
    }

    /// <summary>r: values and sums live in Z_2^r.</summary>
    public int RingBits { get; }
    /// <summary>Bytes of one masked word on the wire.</summary>
    public int WordBytes => RingBits / 8;
    private double MaxSum => RingBits == 32 ? int.MaxValue : short.MaxValue;

    public double Clip { get; }
    public double Scale { get; }
    /// <summary>L = ⌊C·S⌋: the largest encoded magnitude.</summary>
    public int Limit { get; }
    /// <summary>How many encoded vectors can be summed before the sum could wrap: ⌊(2^31 − 1)/L⌋.</summary>
    public int MaxSummands => (int)(MaxSum / Limit);

    /// <summary>The finest scale at which <paramref name="summands"/> values in [−C, C] sum without wrapping.</summary>
    public static FixedPointEncoding ForSummands(double clip, int summands, int ringBits = 32)
    {
        if (summands < 1) throw new ArgumentOutOfRangeException(nameof(summands), summands, "At least one summand.");
        double limit = Math.Floor((ringBits == 16 ? short.MaxValue : int.MaxValue) / (double)summands);
        if (limit < 1) throw new ArgumentOutOfRangeException(nameof(summands), summands, $"{summands} values cannot be summed in a {ringBits}-bit ring.");
        return new FixedPointEncoding(clip, limit / clip, ringBits);
    }

    /// <summary>
    /// Values quantised to <paramref name="valueBits"/> bits: integers in [−(2^(b−1) − 1), 2^(b−1) − 1] at scale
    /// (2^(b−1) − 1)/C (e.g. 8 bits: ±127 steps of C/127), with stochastic rounding the server's sum is unbiased.
    /// </summary>
    public static FixedPointEncoding Quantised(double clip, int valueBits, int ringBits)
    {
        if (valueBits is < 2 or > 24) throw new ArgumentOutOfRangeException(nameof(valueBits), valueBits, "Values are quantised to 2 … 24 bits.");
        if (valueBits >= ringBits) throw new ArgumentOutOfRangeException(nameof(valueBits), valueBits, $"{valueBits}-bit values leave no room for a sum in a {ringBits}-bit ring.");
        return new FixedPointEncoding(clip, ((1 << (valueBits - 1)) - 1) / clip, ringBits);
    }

    /// <summary>Bound on |decoded sum − true sum| per coordinate for <paramref name="summands"/> unclipped inputs.</summary>
    public double MaxSumError(int summands, bool stochastic = false) => summands * (stochastic ? 1.0 : 0.5) / Scale;

    /// <summary>
    /// destination[i] = q(values[i]) as a ring element. Round to nearest, or — with <paramref name="stochastic"/> —
    /// ⌊x·S + U[0,1)⌋, unbiased. Non-finite values are refused (they have no fixed-point meaning).
    /// </summary>
    public void Encode(ReadOnlySpan<float> values, Span<uint> destination, Rng? stochastic = null)
    {
        if (destination.Length != values.Length) throw new ArgumentException($"Destination has {destination.Length} words for {values.Length} values.", nameof(destination));
        for (int i = 0; i < values.Length; i++) destination[i] = EncodeOne(values[i], i, stochastic);
    }

    /// <summary>The sum of up to <see cref="MaxSummands"/> encoded vectors, as floats.</summary>
    public void Decode(ReadOnlySpan<uint> sum, Span<float> destination)
    {
        if (destination.Length != sum.Length) throw new ArgumentException($"Destination has {destination.Length} values for {sum.Length} words.", nameof(destination));
        double inverse = 1.0 / Scale;
        for (int i = 0; i < sum.Length; i++) destination[i] = (float)(Signed(sum[i]) * inverse);
    }

    public double Decode(uint word) => Signed(word) / Scale;

    /// <summary>A ring element as a signed integer (two's complement in r bits).</summary>
    public int Signed(uint word) => RingBits == 32 ? (int)word : (short)(ushort)word;

    /// <summary>A ring element as it travels: the low r bits (all of the word for r = 32).</summary>
    public uint Reduce(uint word) => RingBits == 32 ? word : word & 0xFFFF;

    /// <summary>
    /// A weighted contribution: words 0 … m−1 hold w·Δ, word m holds w itself at scale L (1.0 ↔ L), so that the
    /// unmasked sum yields both Σ wΔ and Σ w — the server normalises without ever seeing a single w.
    /// </summary>
    /// <param name="weight">w ∈ [0, 1], e.g. the age weight s(τ̂) (see <see cref="SemiAsyncSecAgg"/>).</param>
    public void EncodeWeighted(ReadOnlySpan<float> delta, double weight, Span<uint> destination, Rng? stochastic = null)
    {
        if (!(weight >= 0 && weight <= 1)) throw new ArgumentOutOfRangeException(nameof(weight), weight, "A weight must be in [0, 1].");
        if (destination.Length != delta.Length + 1) throw new ArgumentException($"A weighted encoding of {delta.Length} values needs {delta.Length + 1} words (the last carries the weight).", nameof(destination));
        for (int i = 0; i < delta.Length; i++) destination[i] = EncodeOne((float)(weight * delta[i]), i, stochastic);
        destination[delta.Length] = EncodeWeight(weight);
    }

    /// <summary>The weight word of <see cref="EncodeWeighted"/>: w ∈ [0, 1] at scale L.</summary>
    public uint EncodeWeight(double weight)
    {
        if (!(weight >= 0 && weight <= 1)) throw new ArgumentOutOfRangeException(nameof(weight), weight, "A weight must be in [0, 1].");
        return (uint)(int)Math.Round(weight * Limit);
    }

    /// <summary>mean = Σ wΔ / Σ w from a sum of weighted encodings; returns Σ w (0 when every weight was 0, mean left at 0).</summary>
    public double DecodeWeightedMean(ReadOnlySpan<uint> sum, Span<float> mean)
    {
        if (mean.Length != sum.Length - 1) throw new ArgumentException($"A weighted sum of {sum.Length} words decodes to {sum.Length - 1} values.", nameof(mean));
        double totalWeight = (double)Signed(sum[^1]) / Limit;
        if (totalWeight <= 0)
        {
            mean.Clear();
            return 0;
        }
        double inverse = 1.0 / (Scale * totalWeight);
        for (int i = 0; i < mean.Length; i++) mean[i] = (float)(Signed(sum[i]) * inverse);
        return totalWeight;
    }

    private uint EncodeOne(float value, int index, Rng? stochastic)
    {
        if (!float.IsFinite(value)) throw new ArgumentException($"Value {index} is {value}; only finite values have a fixed-point encoding.");
        double scaled = Math.Clamp((double)value, -Clip, Clip) * Scale;
        double q = stochastic is null ? Math.Round(scaled) : Math.Floor(scaled + stochastic.NextDouble());
        return (uint)(int)Math.Clamp(q, -Limit, Limit);
    }
}
