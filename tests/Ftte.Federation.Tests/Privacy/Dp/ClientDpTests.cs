using Ftte.Engine;
using Ftte.Federation.Privacy;

namespace Ftte.Federation.Tests.Privacy.Dp;

/// <summary>Clipping, Gaussian noise and the distributed noise share: exact where exactness is possible, statistical (fixed seeds, 5-standard-error bounds) where not.</summary>
public class ClientDpTests
{
    private static float[] Values(int n, ulong seed, float scale = 1f)
    {
        var rng = new Ftte.Core.Rng(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(scale * rng.NextGaussian());
        return v;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    [InlineData(2048)]
    public void Clip_NormAboveC_ScalesExactlyToC_KeepingDirection(int n)
    {
        var original = Values(n, 1, 10f);
        var clipped = (float[])original.Clone();
        WeightRange[] all = [new(0, n)];
        double norm = ClientDp.Clip(clipped, all, 0.5);

        Assert.Equal(ClientDp.L2Norm(original, all), norm);
        double after = ClientDp.L2Norm(clipped, all);
        Assert.True(after <= 0.5, $"clipped norm {after:R} exceeds C");
        Assert.True(after >= 0.5 * (1 - 3e-6), $"clipped norm {after:R} is not C");
        double scale = 0.5 / norm;
        for (int i = 0; i < n; i++) Assert.Equal(original[i] * scale, clipped[i], Math.Abs(original[i] * scale) * 3e-6 + 1e-30);
    }

    [Fact]
    public void Clip_NormAtOrBelowC_LeavesTheUpdateUntouched()
    {
        var original = Values(100, 2, 0.01f);
        var clipped = (float[])original.Clone();
        double norm = ClientDp.Clip(clipped, [new(0, 100)], 10);
        Assert.True(norm < 10);
        Assert.Equal(original, clipped);
    }

    [Fact]
    public void Clip_OnlyTheTrainedRanges_CountAndChange()
    {
        // A partial update: coordinates outside its ranges are not part of its norm and never written.
        var values = Values(40, 3, 5f);
        var copy = (float[])values.Clone();
        WeightRange[] ranges = [new(5, 10), new(30, 4)];
        double expectedNorm = Math.Sqrt(values.Skip(5).Take(10).Concat(values.Skip(30).Take(4)).Sum(v => (double)v * v));

        double norm = ClientDp.Clip(values, ranges, 1.0);

        Assert.Equal(expectedNorm, norm, 10);
        Assert.True(ClientDp.L2Norm(values, ranges) <= 1.0);
        for (int i = 0; i < 40; i++)
            if (i is < 5 or (>= 15 and < 30) or >= 34) Assert.Equal(copy[i], values[i]);
    }

    [Fact]
    public void Clip_NonFiniteUpdate_IsRefused()
    {
        var values = new float[] { 1, float.NaN, 2 };
        Assert.Throws<ArgumentException>(() => ClientDp.Clip(values, [new(0, 3)], 1));
        values[1] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => ClientDp.Clip(values, [new(0, 3)], 1));
    }

    [Fact]
    public void Clip_OverlappingRanges_AreRefused()
        => Assert.Throws<ArgumentException>(() => ClientDp.Clip(new float[10], [new(0, 5), new(4, 3)], 1));

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Clip_InvalidClipNorm_Throws(double clipNorm)
        => Assert.Throws<ArgumentOutOfRangeException>(() => ClientDp.Clip(new float[3], [new(0, 3)], clipNorm));

    [Fact]
    public void AddGaussianNoise_HasZeroMeanAndTheRequestedVariance()
    {
        const int N = 200_000;
        const double Std = 0.7;
        var values = new float[N];
        ClientDp.AddGaussianNoise(values, [new(0, N)], Std, NoiseSource.Seeded(42));
        AssertMoments(values.Select(v => (double)v), Std * Std);
    }

    [Fact]
    public void AddGaussianNoise_TouchesOnlyTheGivenRanges()
    {
        var values = new float[20];
        ClientDp.AddGaussianNoise(values, [new(3, 4), new(10, 2)], 1.0, NoiseSource.Seeded(1));
        for (int i = 0; i < 20; i++)
        {
            bool inside = i is (>= 3 and < 7) or (>= 10 and < 12);
            Assert.Equal(inside, values[i] != 0);
        }
    }

    [Fact]
    public void AddGaussianNoise_SameSeed_SameNoise()
    {
        var a = new float[100];
        var b = new float[100];
        ClientDp.AddGaussianNoise(a, [new(0, 100)], 1.0, NoiseSource.Seeded(7));
        ClientDp.AddGaussianNoise(b, [new(0, 100)], 1.0, NoiseSource.Seeded(7));
        Assert.Equal(a, b);
    }

    [Fact]
    public void SecureNoise_HasZeroMeanAndUnitVariance()
    {
        var noise = NoiseSource.Secure();
        AssertMoments(Enumerable.Range(0, 100_000).Select(_ => noise.NextGaussian()).ToArray(), 1.0);
    }

    [Fact]
    public void DistributedNoise_SumOfContributorsCarriesTheCentralVariance()
    {
        // n devices each add N(0, z²C²/n) after clipping (ClipAndNoise); over 50,000 coordinates of zero updates the
        // sum has variance z²C², the central mechanism's.
        const int Devices = 10, Coordinates = 50_000;
        const double Z = 1.1, C = 0.5;
        double std = ClientDp.DistributedStddev(Z, C, Devices);
        Assert.Equal(Z * C / Math.Sqrt(Devices), std, 15);
        var sum = new double[Coordinates];
        var rng = new Ftte.Core.Rng(9);
        for (int d = 0; d < Devices; d++)
        {
            var update = new float[Coordinates];
            double norm = ClientDp.ClipAndNoise(update, [new(0, Coordinates)], C, std, NoiseSource.From(rng.Fork()));
            Assert.Equal(0, norm);
            for (int j = 0; j < Coordinates; j++) sum[j] += update[j];
        }
        AssertMoments(sum, Z * Z * C * C);
    }

    [Fact]
    public void ClipAndNoise_ClipsBeforeNoising()
    {
        var update = Values(1000, 5, 3f);
        var expected = (float[])update.Clone();
        ClientDp.Clip(expected, [new(0, 1000)], 1.0);
        ClientDp.AddGaussianNoise(expected, [new(0, 1000)], 0.1, NoiseSource.Seeded(11));
        ClientDp.ClipAndNoise(update, [new(0, 1000)], 1.0, 0.1, NoiseSource.Seeded(11));
        Assert.Equal(expected, update);
    }

    /// <summary>Sample mean within 5 standard errors of 0 and sample variance within 5 standard errors of <paramref name="variance"/> (SE of s² ≈ σ²√(2/n)).</summary>
    internal static void AssertMoments(IEnumerable<double> samples, double variance)
    {
        var x = samples.ToArray();
        double n = x.Length, mean = x.Average();
        double s2 = x.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        Assert.True(Math.Abs(mean) <= 5 * Math.Sqrt(variance / n), $"mean {mean:G4} is more than 5 SE from 0");
        Assert.True(Math.Abs(s2 - variance) <= 5 * variance * Math.Sqrt(2 / n), $"variance {s2:G6} is more than 5 SE from {variance:G6}");
    }
}
