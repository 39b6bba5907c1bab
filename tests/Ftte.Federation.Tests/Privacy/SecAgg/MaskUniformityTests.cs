using Ftte.Core;
using Ftte.Federation.Privacy.SecAgg;
using Ftte.Federation.Privacy.SecAgg.Internal;

namespace Ftte.Federation.Tests.Privacy.SecAgg;

/// <summary>
/// The server's view of one masked update is indistinguishable from uniform noise — before unmasking, and still after
/// it has learnt the client's self-mask (the pairwise masks with surviving neighbours remain). Fixed seeds, so each
/// test is deterministic; the level is α = 0.001 per test (Bonferroni over the 32 bits for the bit test). The control
/// shows the same tests reject the unmasked input.
/// </summary>
public class MaskUniformityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const double Alpha = 1e-3;
    private const int Length = 1 << 16;   // 65,536 coordinates = 262,144 bytes

    private static (uint[] Plain, uint[] Masked, uint[] WithoutSelfMask) MaskOneStructuredUpdate()
    {
        var parameters = TestRound.Sparse(clients: 12, neighbours: 4, threshold: 3, length: Length, graphSeed: 9);
        var encoding = FixedPointEncoding.ForSummands(clip: 1, summands: 12);
        // A very non-uniform update: small values, a slow sine around a positive offset, the same for every client.
        var update = Enumerable.Range(0, Length).Select(i => 0.005f + 0.01f * MathF.Sin(i / 300f)).ToArray();
        var plain = new uint[Length];
        encoding.Encode(update, plain);
        using var round = new TestRound(parameters, seed: 2024);
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        round.Clients[0].ReceiveShares(deliveries.Single(d => d.RecipientId == 0));
        var masked = round.Clients[0].MaskInput(plain).Values;

        var withoutSelf = masked.ToArray();
        Span<byte> seed = stackalloc byte[32];
        KeyAgreement.SelfMaskSeed(round.Clients[0].SelfMaskForTesting, parameters.RoundId, 0, seed);
        MaskGenerator.Apply(seed, withoutSelf, subtract: true);
        return (plain, masked, withoutSelf);
    }

    [Fact]
    public void MaskedUpdate_BytesPassChiSquare()
    {
        var (_, masked, withoutSelf) = MaskOneStructuredUpdate();

        var (chi, p) = UniformityStatistics.ByteChiSquare(masked);
        var (chiAfter, pAfter) = UniformityStatistics.ByteChiSquare(withoutSelf);

        output.WriteLine($"masked: χ² = {chi:F1} (df 255), p = {p:G3}; without b_u: χ² = {chiAfter:F1}, p = {pAfter:G3}");
        Assert.True(p > Alpha, $"χ² = {chi:F1} (df 255), p = {p:G3}");
        Assert.True(pAfter > Alpha, $"after removing b_u: χ² = {chiAfter:F1}, p = {pAfter:G3}");
    }

    [Fact]
    public void MaskedUpdate_WordsPassKolmogorovSmirnov()
    {
        var (_, masked, withoutSelf) = MaskOneStructuredUpdate();

        var (d, p) = UniformityStatistics.KolmogorovSmirnov(masked);
        var (dAfter, pAfter) = UniformityStatistics.KolmogorovSmirnov(withoutSelf);

        output.WriteLine($"masked: D = {d:G3}, p = {p:G3}; without b_u: D = {dAfter:G3}, p = {pAfter:G3}");
        Assert.True(p > Alpha, $"D = {d:G3}, p = {p:G3}");
        Assert.True(pAfter > Alpha, $"after removing b_u: D = {dAfter:G3}, p = {pAfter:G3}");
    }

    [Fact]
    public void MaskedUpdate_EveryBitPositionIsBalanced()
    {
        var (_, masked, withoutSelf) = MaskOneStructuredUpdate();

        double p = UniformityStatistics.SmallestBitP(masked), pAfter = UniformityStatistics.SmallestBitP(withoutSelf);
        output.WriteLine($"smallest bit-position p: masked {p:G3}, without b_u {pAfter:G3}");
        Assert.True(p > Alpha / 32);
        Assert.True(pAfter > Alpha / 32);
    }

    [Fact]
    public void PlainUpdate_FailsTheSameTests()
    {
        var (plain, _, _) = MaskOneStructuredUpdate();

        output.WriteLine($"plain: χ² p = {UniformityStatistics.ByteChiSquare(plain).P:G3}, KS p = {UniformityStatistics.KolmogorovSmirnov(plain).P:G3}, bit p = {UniformityStatistics.SmallestBitP(plain):G3}");
        Assert.True(UniformityStatistics.ByteChiSquare(plain).P < 1e-10);
        Assert.True(UniformityStatistics.KolmogorovSmirnov(plain).P < 1e-10);
        Assert.True(UniformityStatistics.SmallestBitP(plain) < 1e-10);
    }

    [Fact]
    public void Statistics_OnAUniformStream_HaveCalibratedPValues()
    {
        // 200 independent uniform samples: the χ² p-values must themselves look uniform (about 10% below 0.1).
        var rng = new Rng(77);
        var words = new uint[4096];
        int below = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            for (int i = 0; i < words.Length; i++) words[i] = (uint)rng.NextUInt64();
            if (UniformityStatistics.ByteChiSquare(words).P < 0.1) below++;
        }
        Assert.InRange(below, 8, 35);   // Binomial(200, 0.1): mean 20, sd 4.2
        Assert.Equal(Math.Exp(-2), UniformityStatistics.ChiSquareSurvival(4, 2), 12);       // df 2: P[χ² > x] = e^(−x/2)
        Assert.Equal(0.05, UniformityStatistics.ChiSquareSurvival(3.841459, 1), 6);         // 1.959964² : two-sided 5% normal
        Assert.Equal(0.05, UniformityStatistics.ChiSquareSurvival(293.25, 255), 2);         // 95th percentile of χ²_255
    }
}
