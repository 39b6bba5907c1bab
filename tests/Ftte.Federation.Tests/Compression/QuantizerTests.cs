using Ftte.Core;
using Ftte.Federation.Compression;
using Ftte.Federation.Compression.Internal;

namespace Ftte.Federation.Tests.Compression;

/// <summary>The stochastic quantisers: unbiased, within one step of every value, and the same on the SIMD and scalar paths.</summary>
public class QuantizerTests
{
    /// <summary>Chance that a correct quantiser fails one of these statistical tests (fixed seeds make them replay anyway).</summary>
    private const double FalseAlarm = 1e-6;

    /// <summary>Per coordinate: step Δ = m/s and the exact variance Δ²·p(1 − p) of one decoded value (p = y − ⌊y⌋).</summary>
    private static (double Step, double Variance)[] Moments(StochasticQuantizer q, float[] x)
    {
        var result = new (double, double)[x.Length];
        for (int start = 0; start < x.Length; start += q.BlockSize)
        {
            int length = Math.Min(q.BlockSize, x.Length - start);
            double m = x.AsSpan(start, length).ToArray().Max(v => Math.Abs((double)v));
            double step = m / q.Levels;
            for (int i = start; i < start + length; i++)
            {
                double y = m == 0 ? 0 : x[i] / m * q.Levels;
                double p = y - Math.Floor(y);
                result[i] = (step, step * step * p * (1 - p));
            }
        }
        return result;
    }

    /// <summary>
    /// Bernstein's inequality for the mean of N independent values within a range of width Δ and variance σ²:
    /// P(|mean − μ| ≥ t) ≤ 2·exp(−N t² / (2σ² + 2Δt/3)). Solving for the t at which that equals α gives the tolerance.
    /// </summary>
    private static double BernsteinTolerance(int samples, double variance, double range, double alpha)
    {
        double l = Math.Log(2 / alpha);
        double b = 2 * range * l / 3;
        return (b + Math.Sqrt(b * b + 8 * samples * variance * l)) / (2 * samples);
    }

    /// <summary>
    /// Asserts that <paramref name="means"/> (each the mean of <paramref name="samples"/> decodings) match <paramref name="x"/>
    /// within what the quantiser's own variance allows: per coordinate by Bernstein (α split over the coordinates), and for
    /// the sum over coordinates by the normal tail P(|Z| ≥ z) ≤ exp(−z²/2) — the sum catches a small bias that every
    /// coordinate shares.
    /// </summary>
    private static void AssertUnbiased(float[] x, double[] means, (double Step, double Variance)[] moments, int samples)
    {
        double alpha = FalseAlarm / (x.Length + 1);
        double sum = 0, sumVariance = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double error = means[i] - x[i];
            var (step, variance) = moments[i];
            // Float rounding of x/m·s and q·(m/s): a few units in the last place of the block's scale, never random.
            double rounding = 1e-6 * step;
            double tolerance = BernsteinTolerance(samples, variance, step, alpha) + rounding;
            Assert.True(Math.Abs(error) <= tolerance, $"coordinate {i}: x = {x[i]:R}, mean of {samples} decodings = {means[i]:R}, |error| {Math.Abs(error):G3} > {tolerance:G3}");
            sum += error / step;
            sumVariance += variance / (step * step) / samples;
        }
        double z = Math.Sqrt(2 * Math.Log(1 / alpha));
        Assert.True(Math.Abs(sum) <= z * Math.Sqrt(sumVariance) + 1e-6 * x.Length,
            $"the errors sum to {sum:G4} steps; a fair quantiser stays within {z * Math.Sqrt(sumVariance):G4}");
    }

    private static double[] MeanOfDecodings(UpdateCodec codec, float[] x, int samples, ulong seed)
    {
        var rng = new Rng(seed);
        var sum = new double[x.Length];
        var buffer = new byte[codec.EncodedSize(x.Length)];
        var decoded = new float[x.Length];
        for (int k = 0; k < samples; k++)
        {
            codec.Encode(x, buffer, rng);
            codec.Decode(buffer, decoded);
            for (int i = 0; i < x.Length; i++) sum[i] += decoded[i];
        }
        return [.. sum.Select(s => s / samples)];
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(2)]
    public void Quantizer_IsUnbiased_TheMeanOfManyDecodingsConvergesToTheValues(int bits)
    {
        var q = new StochasticQuantizer(bits);
        // Two full blocks of very different scales and a short last one; a zero and each block's extremes included.
        var x = CodecFixtures.Gaussian(2 * 256 + 44, seed: 11);
        x[3] = 0;
        const int samples = 4000;

        var means = MeanOfDecodings(q, x, samples, seed: 12);

        AssertUnbiased(x, means, Moments(q, x), samples);
    }

    [Fact]
    public void UnbiasednessCheck_CatchesABiasedRounding()
    {
        // The same check applied to round-to-nearest (what a deterministic 2-bit quantiser would send) must fail:
        // otherwise the test above would prove nothing.
        var q = StochasticQuantizer.Q2;
        var x = CodecFixtures.Gaussian(300, seed: 13);
        var moments = Moments(q, x);
        var nearest = new double[x.Length];
        for (int i = 0; i < x.Length; i++) nearest[i] = Math.Round(x[i] / moments[i].Step) * moments[i].Step;

        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertUnbiased(x, nearest, moments, samples: 4000));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(2)]
    public void Quantizer_StaysWithinOneStepOfEachValue_PerBlock(int bits)
    {
        var q = new StochasticQuantizer(bits);
        var x = CodecFixtures.Gaussian(1100, seed: 14);
        var moments = Moments(q, x);
        var rng = new Rng(15);

        for (int k = 0; k < 50; k++)
        {
            var decoded = q.Decode(q.Encode(x, rng), x.Length);
            for (int i = 0; i < x.Length; i++)
            {
                double step = moments[i].Step;
                Assert.True(Math.Abs(decoded[i] - x[i]) <= step * (1 + 1e-6), $"value {i}: |{decoded[i]} − {x[i]}| > step {step}");
                // Decoded values sit on the block's grid q·m/s with |q| ≤ s.
                double level = decoded[i] / step;
                Assert.True(Math.Abs(level - Math.Round(level)) < 1e-3 && Math.Abs(level) <= q.Levels + 1e-3, $"value {i} is off the grid: {level}");
            }
        }
    }

    [Fact]
    public void Quantizer_KeepsZeroBlocksAndExtremesExact()
    {
        var x = new float[300];
        x[260] = -2.5f;
        x[270] = 1.25f;

        var decoded = StochasticQuantizer.Q2.Decode(StochasticQuantizer.Q2.Encode(x, new Rng(1)), x.Length);

        Assert.All(decoded[..256], v => Assert.Equal(0f, v)); // an all-zero block: scale 0, every value exact
        Assert.Equal(-2.5f, decoded[260]);                     // the block's max |x| is a level
        Assert.Contains(decoded[270], new[] { 0f, 2.5f });     // 2 bits: −m, 0 or m
    }

    [Fact]
    public void Quantizer_HandlesSubnormalScales()
    {
        float tiny = float.Epsilon * 64;
        float[] x = [tiny, -tiny / 2, 0, tiny / 4];

        var decoded = StochasticQuantizer.Q8.Decode(StochasticQuantizer.Q8.Encode(x, new Rng(1)), x.Length);

        Assert.All(decoded, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(tiny, decoded[0]);
    }

    private static readonly int[] KernelLengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 2048];

    public static TheoryData<int> Lengths() => [.. KernelLengths];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void RoundStochastic_SimdAndScalarPathsAgree(int n)
    {
        var rng = new Rng((ulong)n + 1);
        var y = new float[n];
        var u = new float[n];
        for (int i = 0; i < n; i++)
        {
            // Integers, values just off integers, and u at the edges (0, just below p) exercise both comparisons.
            y[i] = (i % 5) switch { 0 => MathF.Round(rng.Uniform(-127, 127)), 1 => 3f + 1e-6f, _ => rng.Uniform(-127, 127) };
            u[i] = (i % 7) switch { 0 => 0f, 1 => MathF.BitDecrement(y[i] - MathF.Floor(y[i])), _ => rng.NextSingle() };
        }
        var vector = new float[n];
        var scalar = new float[n];

        QuantizeKernels.RoundStochastic(y, u, vector);
        QuantizeKernels.RoundStochasticScalar(y, u, scalar);

        Assert.Equal(scalar, vector);
        for (int i = 0; i < n; i++) Assert.True(scalar[i] == MathF.Floor(y[i]) || scalar[i] == MathF.Floor(y[i]) + 1);
    }

    [Theory]
    [InlineData(8, 127)]
    [InlineData(4, 7)]
    [InlineData(2, 1)]
    public void PackAndUnpack_RoundTripEveryLevel(int bits, int levels)
    {
        foreach (int n in KernelLengths)
        {
            var q = new float[n];
            for (int i = 0; i < n; i++) q[i] = i % (2 * levels + 1) - levels;
            var codes = new byte[(n * bits + 7) / 8];
            var back = new float[n];

            QuantizeKernels.Pack(q, levels, bits, codes);

            Assert.Equal(-1, QuantizeKernels.Unpack(codes, levels, bits, 1.0, back));
            Assert.Equal(q, back);
        }
    }
}
