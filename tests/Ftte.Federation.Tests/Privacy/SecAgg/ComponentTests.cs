using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using Ftte.Core;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Privacy.SecAgg;
using Ftte.Federation.Privacy.SecAgg.Internal;

namespace Ftte.Federation.Tests.Privacy.SecAgg;

public class ShamirTests
{
    [Fact]
    public void Prime_IsTheP256GroupOrderAndPrime()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var order = key.ExportExplicitParameters(false).Curve.Order!;

        Assert.Equal(new BigInteger(order, isUnsigned: true, isBigEndian: true), Shamir.Prime);
        foreach (int a in new[] { 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37 })   // Miller–Rabin witnesses
            Assert.True(MillerRabin(Shamir.Prime, a));
    }

    [Theory]
    [InlineData(2, 3)]
    [InlineData(3, 5)]
    [InlineData(7, 13)]
    public void Reconstruct_AnyTShares_GiveTheSecret_AndTMinusOneDoNot(int t, int n)
    {
        using var random = SessionRandom.Seeded(5, 1, 0);
        var secret = random.Below(Shamir.Prime);
        int[] holders = [.. Enumerable.Range(0, n).Select(i => 3 * i + 1)];
        var shares = new BigInteger[n];

        Shamir.Split(secret, t, holders, random, shares);

        for (int start = 0; start + t <= n; start++)
            Assert.Equal(secret, Shamir.Reconstruct(holders.AsSpan(start, t), shares.AsSpan(start, t)));
        Assert.Equal(secret, Shamir.Reconstruct(holders, shares));   // more than t points lie on the same polynomial
        Assert.NotEqual(secret, Shamir.Reconstruct(holders.AsSpan(0, t - 1), shares.AsSpan(0, t - 1)));
    }

    [Fact]
    public void Bytes_RoundTripIncludingSmallValues()
    {
        foreach (var v in new[] { BigInteger.Zero, BigInteger.One, Shamir.Prime - 1 })
            Assert.Equal(v, Shamir.FromBytes(Shamir.ToBytes(v)));
        Assert.False(Shamir.IsFieldElement(Shamir.ToBytes(Shamir.Prime)));
    }

    private static bool MillerRabin(BigInteger n, int a)
    {
        BigInteger d = n - 1;
        int r = 0;
        while (d.IsEven) { d >>= 1; r++; }
        var x = BigInteger.ModPow(a, d, n);
        if (x.IsOne || x == n - 1) return true;
        for (int i = 1; i < r; i++)
        {
            x = BigInteger.ModPow(x, 2, n);
            if (x == n - 1) return true;
        }
        return false;
    }
}

public class MaskGeneratorTests
{
    [Fact]
    public void Apply_FirstBlock_IsAesOfCounterZeroLittleEndian()
    {
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        using var aes = Aes.Create();
        aes.Key = key;
        var counter1 = new byte[16];
        counter1[15] = 1;
        var block0 = aes.EncryptEcb(new byte[16], PaddingMode.None);
        var block1 = aes.EncryptEcb(counter1, PaddingMode.None);
        var mask = new uint[6];

        MaskGenerator.Apply(key, mask, subtract: false);

        for (int i = 0; i < 4; i++) Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(block0.AsSpan(4 * i)), mask[i]);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(block1), mask[4]);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(block1.AsSpan(4)), mask[5]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(8191)]
    [InlineData(8192)]
    [InlineData(8193)]
    [InlineData(20000)]
    public void Apply_AddThenSubtract_IsTheIdentity_AndPrefixesAgree(int length)
    {
        var key = SHA256.HashData(BitConverter.GetBytes(length));
        var rng = new Rng(1);
        var values = Enumerable.Range(0, length).Select(_ => (uint)rng.NextUInt64()).ToArray();
        var masked = values.ToArray();
        var longer = new uint[length + 9];

        MaskGenerator.Apply(key, masked, subtract: false);
        MaskGenerator.Apply(key, longer, subtract: false);
        for (int i = 0; i < length; i++) Assert.Equal(values[i] + longer[i], masked[i]);   // the stream does not depend on the length
        MaskGenerator.Apply(key, masked, subtract: true);

        Assert.Equal(values, masked);
    }
}

public class NeighbourGraphTests
{
    [Theory]
    [InlineData(10, 4, 1UL)]
    [InlineData(101, 18, 2UL)]
    [InlineData(7, 6, 3UL)]
    public void Create_IsRegularAndSymmetric(int n, int k, ulong seed)
    {
        var graph = NeighbourGraph.Create(n, k, seed);

        for (int u = 0; u < n; u++)
        {
            var neighbours = graph.NeighboursOf(u);
            Assert.Equal(k, neighbours.Distinct().Count());
            Assert.DoesNotContain(u, neighbours);
            foreach (int v in neighbours)
            {
                Assert.True(graph.AreNeighbours(u, v));
                Assert.Contains(u, graph.NeighboursOf(v));
            }
        }
    }

    [Fact]
    public void Create_SameSeedSameGraph_OtherSeedOtherGraph()
    {
        var a = NeighbourGraph.Create(50, 6, 1);
        var b = NeighbourGraph.Create(50, 6, 1);
        var c = NeighbourGraph.Create(50, 6, 2);

        Assert.All(Enumerable.Range(0, 50), u => Assert.Equal(a.NeighboursOf(u), b.NeighboursOf(u)));
        Assert.Contains(Enumerable.Range(0, 50), u => !a.NeighboursOf(u).SequenceEqual(c.NeighboursOf(u)));
    }

    [Fact]
    public void Create_OddSparseDegree_IsRefusedWithTheAlternatives()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => NeighbourGraph.Create(20, 5, 0));
        Assert.Contains("even degree", error.Message);
        Assert.Contains("19 for the complete graph", error.Message);
    }
}

public class SecAggParametersTests
{
    [Fact]
    public void Validate_ThresholdAtHalfTheHolders_IsRefusedWithTheReason()
    {
        var parameters = TestRound.Complete(10, threshold: 5);

        var error = Assert.Throws<ArgumentException>(parameters.Validate);

        Assert.Contains("must be between 6 and 10", error.Message);
        Assert.Contains("both secrets", error.Message);
    }

    [Fact]
    public void Recommend_HundredClientsTenPercentDropouts_IsSparseLogarithmicAndValid()
    {
        var p = SecAggParameters.Recommend(1, clients: 100, vectorLength: 10, dropoutRate: 0.1);

        p.Validate();
        Assert.Equal(18, p.Neighbours);
        Assert.Equal(10, p.Threshold);
        // A neighbourhood tolerates k + 1 − t = 9 dropped holders; all 10 dropouts landing among one client's 18
        // neighbours has probability below 2^−20/n.
    }

    [Fact]
    public void Recommend_DegreeGrowsLogarithmically()
    {
        int k1k = SecAggParameters.Recommend(1, 1_000, 1, 0.05).Neighbours;
        int k10k = SecAggParameters.Recommend(1, 10_000, 1, 0.05).Neighbours;

        Assert.InRange(k1k, 10, 60);
        Assert.InRange(k10k, k1k, k1k + 30);
    }

    [Fact]
    public void Recommend_SmallRound_FallsBackToTheCompleteGraph()
    {
        // 5 clients, at most 2 drop: k = 2 could disconnect, so everyone neighbours everyone, t = 3 of 5.
        var p = SecAggParameters.Recommend(1, clients: 5, vectorLength: 1, dropoutRate: 0.4);

        Assert.Equal(4, p.Neighbours);
        Assert.Equal(3, p.Threshold);
    }

    [Fact]
    public void Recommend_MoreDropoutsThanAMajorityAllows_IsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => SecAggParameters.Recommend(1, clients: 5, vectorLength: 1, dropoutRate: 0.6));
        Assert.Contains("exceeds the 2 expected survivors", error.Message);
    }
}

public class FixedPointEncodingTests
{
    [Fact]
    public void ForSummands_ExtremeValues_SumWithoutWrapping()
    {
        const int n = 100;
        var encoding = FixedPointEncoding.ForSummands(clip: 2, summands: n);
        var words = new uint[2];
        encoding.Encode([2f, -2f], words);
        uint high = 0, low = 0;
        for (int i = 0; i < n; i++) { high += words[0]; low += words[1]; }

        Assert.Equal(n, encoding.MaxSummands);
        Assert.Equal(200, encoding.Decode(high), 4);
        Assert.Equal(-200, encoding.Decode(low), 4);
    }

    [Fact]
    public void Encode_ClampsToTheClipRange_AndRefusesNonFinite()
    {
        var encoding = new FixedPointEncoding(clip: 1, scale: 1000);
        var words = new uint[3];

        encoding.Encode([5f, -0.0004f, -7f], words);

        Assert.Equal([1000u, 0u, unchecked((uint)-1000)], words);
        Assert.Throws<ArgumentException>(() => encoding.Encode([float.NaN], new uint[1]));
    }

    [Fact]
    public void Encode_Stochastic_IsUnbiased()
    {
        var encoding = new FixedPointEncoding(clip: 1, scale: 10);
        var rng = new Rng(4);
        var word = new uint[1];
        double sum = 0;
        const int draws = 20_000;
        for (int i = 0; i < draws; i++)
        {
            encoding.Encode([0.123f], word, rng);
            sum += encoding.Decode(word[0]);
        }
        Assert.Equal(0.123, sum / draws, 2);   // round-to-nearest would give 0.1
    }

    [Fact]
    public void Constructor_ScaleTooLarge_IsRefusedWithTheRule()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new FixedPointEncoding(clip: 10, scale: 1e9));
        Assert.Contains("2^31 − 1", error.Message);
    }
}

public class SemiAsyncSecAggTests
{
    [Fact]
    public void GroupSize_NoDropouts_IsTheBufferSize() => Assert.Equal(10, SemiAsyncSecAgg.GroupSize(10, 0));

    [Fact]
    public void GroupSize_WithDropouts_DeliversKWithTheRequestedProbability()
    {
        int g = SemiAsyncSecAgg.GroupSize(bufferSize: 10, dropoutRate: 0.1, failureProbability: 1e-3);

        Assert.True(BinomialBelow(g - 1, 0.9, 10) > 1e-3);   // g − 1 would not do
        Assert.True(BinomialBelow(g, 0.9, 10) <= 1e-3);
        Assert.InRange(g, 12, 16);
    }

    [Fact]
    public void PlannedAgeWeight_IsTheStalenessOfThePlannedVersion()
    {
        Assert.Equal(1 / Math.Sqrt(4), SemiAsyncSecAgg.PlannedAgeWeight(StalenessFunction.InverseSqrt, baseVersion: 7, plannedVersion: 10), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => SemiAsyncSecAgg.PlannedAgeWeight(StalenessFunction.InverseSqrt, 7, 6));
    }

    private static double BinomialBelow(int n, double p, int k)
    {
        double sum = 0;
        for (int x = 0; x < k; x++)
        {
            double c = 1;
            for (int i = 0; i < x; i++) c = c * (n - i) / (i + 1);
            sum += c * Math.Pow(p, x) * Math.Pow(1 - p, n - x);
        }
        return sum;
    }
}
