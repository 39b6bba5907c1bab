using Ftte.Core;
using Ftte.Engine;
using Ftte.Federation.Compression;

namespace Ftte.Federation.Tests.Compression;

/// <summary>Top-k keeps the largest values exactly; error feedback makes what was sent add up to what was trained.</summary>
public class TopKTests
{
    private static double Norm(ReadOnlySpan<float> v)
    {
        double s = 0;
        foreach (float x in v) s += (double)x * x;
        return Math.Sqrt(s);
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));

    [Theory]
    [InlineData(1000, 0.05)]
    [InlineData(70_000, 0.01)] // 4-byte indices
    [InlineData(17, 0.01)]     // k = 1
    public void TopK_KeepsExactlyTheLargestMagnitudes(int n, double ratio)
    {
        var codec = new TopKCodec(ratio);
        var x = CodecFixtures.Gaussian(n, seed: 21);
        int k = codec.KeptCount(n);

        var decoded = codec.Decode(codec.Encode(x, new Rng(1)), n);

        var largest = Enumerable.Range(0, n).OrderByDescending(i => MathF.Abs(x[i])).ThenBy(i => i).Take(k).ToHashSet();
        for (int i = 0; i < n; i++) Assert.Equal(largest.Contains(i) ? x[i] : 0f, decoded[i]);
    }

    [Fact]
    public void TopK_BreaksTiesByLowerIndex()
    {
        float[] x = [1, -1, 1, -1, 1, 0.5f, 2];
        var codec = new TopKCodec(3.0 / 7);

        var decoded = codec.Decode(codec.Encode(x, new Rng(1)), x.Length);

        Assert.Equal([1f, -1f, 0, 0, 0, 0, 2f], decoded);
    }

    [Theory]
    [InlineData(0.01, 100, 1)]
    [InlineData(0.01, 300, 3)]
    [InlineData(0.01, 301, 4)]
    [InlineData(0.01, 5, 1)]
    [InlineData(1.0, 5, 5)]
    [InlineData(0.5, 0, 0)]
    public void KeptCount_IsTheCeilingOfRatioTimesCount_AtLeastOne(double ratio, int n, int k)
    {
        Assert.Equal(k, new TopKCodec(ratio).KeptCount(n));
    }

    [Fact]
    public void SelectAscending_AgreesWithSorting_WithManyDuplicates()
    {
        var rng = new Rng(22);
        foreach (int n in new[] { 1, 2, 3, 10, 257, 5000 })
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = rng.NextInt(1 + n / 10);
            var sorted = a.Order().ToArray();
            foreach (int nth in new[] { 0, n / 3, n / 2, n - 1 })
                Assert.Equal(sorted[nth], TopKCodec.SelectAscending((float[])a.Clone(), nth));
        }
    }

    [Fact]
    public void ErrorFeedback_SentSumPlusResidualEqualsInputSum_AndTheResidualStaysBounded()
    {
        const int n = 500, steps = 300;
        var codec = new TopKCodec(0.05);
        double delta = (double)codec.KeptCount(n) / n;
        // Top-k contracts: ‖x − topk(x)‖² ≤ (1 − δ)‖x‖², δ = k/n. With ‖Δ_t‖ ≤ G, Young's inequality gives
        // ‖e_t‖² ≤ 2(1 − δ)(2 − δ)/δ² · G² for every t (Stich et al. 2018, Lemma 3's argument without the step size).
        var feedback = new ErrorFeedback();
        var rng = new Rng(23);
        var inputs = new double[n];
        var sent = new double[n];
        double g = 0;
        for (int t = 0; t < steps; t++)
        {
            var update = CodecFixtures.Gaussian(n, seed: 100 + (ulong)t, varyScale: false);
            g = Math.Max(g, Norm(update));
            var decoded = codec.Decode(feedback.Encode(codec, update, rng), n);
            for (int i = 0; i < n; i++) { inputs[i] += update[i]; sent[i] += decoded[i]; }

            double bound = 2 * (1 - delta) * (2 - delta) / (delta * delta) * g * g;
            Assert.True(Math.Pow(feedback.ResidualNorm, 2) <= bound * (1 + 1e-4), $"step {t}: ‖e‖² = {Math.Pow(feedback.ResidualNorm, 2):G4} > {bound:G4}");
        }

        // Σ sent + e = Σ Δ, up to float rounding of the running sums.
        var residual = feedback.Residual;
        for (int i = 0; i < n; i++) Assert.Equal(inputs[i], sent[i] + residual[i], 1e-3);
    }

    [Fact]
    public void ErrorFeedback_MakesTheRunningSumOfSentValuesTrackTheInputs_WhichTopKAloneDoesNot()
    {
        // Updates with a common drift: the model should move by Σ Δ. With feedback the gap is the bounded residual,
        // so the relative gap shrinks as the sum grows; without it top-k drops the same 95% of the mass every time.
        const int n = 400, steps = 400;
        var codec = new TopKCodec(0.05);
        var drift = CodecFixtures.Gaussian(n, seed: 31, varyScale: false);
        var feedback = new ErrorFeedback();
        var rng = new Rng(32);
        var inputs = new double[n];
        var withFeedback = new double[n];
        var without = new double[n];
        double earlyGap = 0;
        for (int t = 0; t < steps; t++)
        {
            var noise = CodecFixtures.Gaussian(n, seed: 1000 + (ulong)t, varyScale: false);
            var update = new float[n];
            for (int i = 0; i < n; i++) update[i] = drift[i] + noise[i];
            var a = codec.Decode(feedback.Encode(codec, update, rng), n);
            var b = codec.Decode(codec.Encode(update, rng), n);
            for (int i = 0; i < n; i++) { inputs[i] += update[i]; withFeedback[i] += a[i]; without[i] += b[i]; }
            if (t == 49) earlyGap = Norm([.. inputs.Zip(withFeedback, (x, y) => x - y)]) / Norm(inputs);
        }

        double gap = Norm([.. inputs.Zip(withFeedback, (x, y) => x - y)]) / Norm(inputs);
        double gapWithout = Norm([.. inputs.Zip(without, (x, y) => x - y)]) / Norm(inputs);
        Assert.True(gap < earlyGap / 4, $"relative gap after {steps} steps {gap:P2}, after 50 {earlyGap:P2}: it should shrink like 1/t");
        Assert.True(gap < 0.1, $"with error feedback the sums differ by {gap:P1}");
        Assert.True(gapWithout > 0.5, $"without error feedback the sums differ by only {gapWithout:P1}");
    }

    [Fact]
    public void ErrorFeedback_CarriesTheResidualOfCoordinatesStillSent_WhenTheLayoutChanges()
    {
        var codec = new TopKCodec(0.25);
        var feedback = new ErrorFeedback();
        // Coordinates 0–3 and 10–13; top-k keeps 2 of 8, so 6 stay in the residual.
        float[] first = [1, 2, 3, 4, 5, 6, 7, 8];
        feedback.Encode(codec, first, [new WeightRange(0, 4), new WeightRange(10, 4)], new Rng(1));
        Assert.Equal([1f, 2, 3, 4, 5, 6, 0, 0], feedback.Residual.ToArray());

        // Now coordinates 2–11: 2, 3 and 10, 11 carry over; 4–9 are new.
        var second = new float[10];
        feedback.Encode(codec, second, [new WeightRange(2, 10)], new Rng(1));

        Assert.Equal([new WeightRange(2, 10)], feedback.Layout.ToArray());
        // p = [3, 4, 0, 0, 0, 0, 0, 0, 5, 6]: top-k (k = 3 of 10) sends 6, 5 and 4; 3 stays.
        Assert.Equal([3f, 0, 0, 0, 0, 0, 0, 0, 0, 0], feedback.Residual.ToArray());
    }

    [Fact]
    public void ErrorFeedback_CloneIsIndependent_AndAFailedEncodeLeavesTheResidual()
    {
        var codec = new TopKCodec(0.5);
        var feedback = new ErrorFeedback();
        feedback.Encode(codec, [1f, 2, 3, 4], new Rng(1));
        var copy = feedback.Clone();

        feedback.Encode(codec, [1f, 1, 1, 1], new Rng(1));
        Assert.Equal([1f, 2, 0, 0], copy.Residual.ToArray());
        Assert.Throws<ArgumentException>(() => copy.Encode(codec, [1f, float.NaN, 1, 1], new Rng(1)));
        Assert.Equal([1f, 2, 0, 0], copy.Residual.ToArray());
        Assert.Throws<ArgumentException>(() => copy.Encode(codec, [1f, 1], [new WeightRange(0, 4)], new Rng(1)));
    }

    [Fact]
    public void RoundTrip_DecodesOnlyTheTrainedRanges_AndReportsTheWireBytes()
    {
        var delta = CodecFixtures.Gaussian(1000, seed: 41);
        for (int i = 0; i < 10; i++) delta[i] = 7f; // outside the ranges: must stay
        WeightRange[] ranges = [new(10, 100), new(500, 250)];
        var original = (float[])delta.Clone();

        int bytes = UpdateCompression.RoundTrip(StochasticQuantizer.Q2, delta, ranges, new Rng(1));

        Assert.Equal(StochasticQuantizer.Q2.EncodedSize(350), bytes);
        Assert.Equal(original[..10], delta[..10]);
        Assert.Equal(original[110..500], delta[110..500]);
        Assert.Equal(original[750..], delta[750..]);
        Assert.Contains(delta[10..110], v => v != 0);

        var copy = (float[])original.Clone();
        UpdateCompression.RoundTrip(UpdateCodec.Float32, copy, ranges, new Rng(1));
        Assert.Equal(original, copy);
    }

    [Fact]
    public void EncodeThenDecode_IsRoundTrip_AndABadEncodingLeavesTheDestinationUntouched()
    {
        var delta = CodecFixtures.Gaussian(1000, seed: 43);
        WeightRange[] ranges = [new(10, 100), new(500, 250)];
        var roundTripped = (float[])delta.Clone();
        UpdateCompression.RoundTrip(StochasticQuantizer.Q4, roundTripped, ranges, UpdateCompression.EncodingRng(5));

        var wire = UpdateCompression.Encode(StochasticQuantizer.Q4, delta, ranges, UpdateCompression.EncodingRng(5));
        var decoded = (float[])delta.Clone();
        UpdateCompression.Decode(StochasticQuantizer.Q4, wire, ranges, decoded);
        Assert.Equal(roundTripped, decoded);

        // A code outside the 4-bit alphabet in the last byte: found after earlier blocks decoded, yet nothing is written.
        wire[^1] = 0xFF;
        var destination = new float[1000];
        Assert.Throws<FormatException>(() => UpdateCompression.Decode(StochasticQuantizer.Q4, wire, ranges, destination));
        Assert.All(destination, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void RoundTrip_WithFeedback_KeepsTheResidualOverTheRanges()
    {
        var delta = CodecFixtures.Gaussian(1000, seed: 42);
        WeightRange[] ranges = [new(100, 200), new(600, 100)];
        var feedback = new ErrorFeedback();
        var before = (float[])delta.Clone();

        UpdateCompression.RoundTrip(new TopKCodec(0.1), delta, ranges, new Rng(1), feedback);

        Assert.Equal(ranges, feedback.Layout.ToArray());
        var residual = feedback.Residual;
        // sent + residual = the update, coordinate by coordinate
        for (int j = 0; j < 200; j++) Assert.Equal(before[100 + j], delta[100 + j] + residual[j]);
        for (int j = 0; j < 100; j++) Assert.Equal(before[600 + j], delta[600 + j] + residual[200 + j]);
        Assert.Equal(30, delta.Skip(100).Take(200).Concat(delta.Skip(600).Take(100)).Count(v => v != 0));
    }
}
