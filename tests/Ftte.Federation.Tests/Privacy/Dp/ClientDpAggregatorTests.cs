using Ftte.Core;
using Ftte.Engine;
using Ftte.Federation.Privacy;

namespace Ftte.Federation.Tests.Privacy.Dp;

/// <summary>The server step under DP: aggregate → clip → noise → account, as a FedBuff/FTTE strategy will call it.</summary>
public class ClientDpAggregatorTests
{
    private const int P = 64;

    private static ClientDpOptions Central(double z = 1.1, double c = 1.0, int k = 4) => new() { NoiseMultiplier = z, ClipNorm = c, BufferSize = k };

    private static float[] Delta(ulong seed, float scale)
    {
        var rng = new Rng(seed);
        var d = new float[P];
        for (int i = 0; i < P; i++) d[i] = (float)(scale * rng.NextGaussian());
        return d;
    }

    [Fact]
    public void Release_Central_IsTheNoisedClippedWeightedSumOverK()
    {
        // x ← x + η·(Σ wᵢ·clip_C(Δᵢ) + N(0, z²C²))/K, reproduced operation by operation with the same seeded noise.
        var options = Central(z: 1.1, c: 1.0, k: 4);
        var dp = new ClientDpAggregator(P, options, NoiseSource.Seeded(5));
        WeightRange[] all = [new(0, P)];
        var deltas = new[] { Delta(1, 2f), Delta(2, 0.01f), Delta(3, 0.5f), Delta(4, 3f) };
        double[] weights = [1.0, 0.7, 1.0, 1 / Math.Sqrt(3)];
        var sum = new double[P];
        for (int i = 0; i < 4; i++)
        {
            double norm = dp.Add(deviceId: 10 + i, deltas[i], all, weights[i]);
            Assert.Equal(ClientDp.L2Norm(deltas[i], all), norm);
            double scale = weights[i] * ClientDp.ClipScale(norm, 1.0);
            for (int j = 0; j < P; j++) sum[j] += scale * deltas[i][j];
        }
        var noise = NoiseSource.Seeded(5);
        for (int j = 0; j < P; j++) sum[j] += 1.1 * 1.0 * noise.NextGaussian();
        var model = Delta(99, 1f);
        var expected = model.Select((x, j) => (float)(x + 0.5 / 4 * sum[j])).ToArray();

        var release = dp.Release(model, q: 0.1, serverLearningRate: 0.5);

        Assert.Equal(expected, model);
        Assert.Equal(1, release.Step);
        Assert.Equal(4, release.Contributors);
        Assert.Equal(1.1, release.SumNoiseStddev, 15);
        Assert.Equal(0, dp.Count);
        var reference = new RdpAccountant();
        reference.Step(0.1, 1.1);
        Assert.Equal(reference.Epsilon(1e-5), release.Spent);
    }

    [Fact]
    public void Add_DoesNotModifyTheUpdate()
    {
        var dp = new ClientDpAggregator(P, Central(), NoiseSource.Seeded(1));
        var delta = Delta(1, 10f);
        var copy = (float[])delta.Clone();
        double norm = dp.Add(1, delta, [new(0, P)]);
        Assert.True(norm > 1.0);
        Assert.Equal(copy, delta);
    }

    [Fact]
    public void Release_NoisesEveryReleasedCoordinate_AndNothingElse()
    {
        // The update trained [0, 8); the step may change [0, 8) and [32, 48): all 24 get noise, even the 16 nobody
        // trained in this buffer (which coordinates move must not reveal who contributed); the rest stays put.
        var dp = new ClientDpAggregator(P, Central(k: 1), NoiseSource.Seeded(2), released: [new(0, 8), new(32, 16)]);
        dp.Add(1, new float[P], [new(0, 8)]);
        var model = new float[P];
        dp.Release(model, 0.1);
        for (int j = 0; j < P; j++)
        {
            bool released = j < 8 || (j >= 32 && j < 48);
            Assert.Equal(released, model[j] != 0);
        }
    }

    [Fact]
    public void Add_UpdateOutsideTheReleasedCoordinates_IsRefused()
    {
        var dp = new ClientDpAggregator(P, Central(), NoiseSource.Seeded(1), released: [new(0, 8), new(8, 8)]);
        dp.Add(1, new float[P], [new(4, 8)]);   // touching released ranges merge into [0, 16)
        Assert.Throws<ArgumentException>(() => dp.Add(2, new float[P], [new(12, 8)]));
    }

    [Fact]
    public void Add_SameDeviceTwiceInOneStep_IsRefused_UntilTheNextStep()
    {
        var dp = new ClientDpAggregator(P, Central(k: 1), NoiseSource.Seeded(1));
        dp.Add(7, new float[P], [new(0, P)]);
        Assert.True(dp.HasContributed(7));
        Assert.Throws<InvalidOperationException>(() => dp.Add(7, new float[P], [new(0, P)]));
        dp.Release(new float[P], 0.1);
        Assert.False(dp.HasContributed(7));
        dp.Add(7, new float[P], [new(0, P)]);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Add_WeightOutsideUnitInterval_IsRefused(double weight)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new ClientDpAggregator(P, Central(), NoiseSource.Seeded(1)).Add(1, new float[P], [new(0, P)], weight));

    [Fact]
    public void Add_NonFiniteUpdate_IsRefused()
    {
        var delta = new float[P];
        delta[3] = float.NaN;
        var dp = new ClientDpAggregator(P, Central(), NoiseSource.Seeded(1));
        Assert.Throws<ArgumentException>(() => dp.Add(1, delta, [new(0, P)]));
        Assert.Equal(0, dp.Count);
    }

    [Fact]
    public void Release_OverBudget_ReleasesNothing_AndSaysWhy()
    {
        var options = Central(z: 0.7, k: 1) with { MaxEpsilon = 8 };
        var dp = new ClientDpAggregator(P, options, NoiseSource.Seeded(3));
        dp.Accountant.Step(0.01, 0.7, 2661);
        dp.Add(1, Delta(1, 1f), [new(0, P)]);
        Assert.False(dp.CheckBudget(0.01).Allowed);
        var model = Delta(2, 1f);
        var before = (float[])model.Clone();

        var e = Assert.Throws<PrivacyBudgetExceededException>(() => dp.Release(model, 0.01));

        Assert.Equal("ε would reach 8.001 > 8 at δ=1e-5 after step 2,662", e.Message);
        Assert.Equal(before, model);
        Assert.Equal(2661, dp.Accountant.Steps);
    }

    [Fact]
    public void Release_EveryStep_ReportsGrowingEpsilon_WithTheStepsQ()
    {
        var dp = new ClientDpAggregator(P, Central(k: 2), NoiseSource.Seeded(4));
        var reference = new RdpAccountant();
        double previous = 0;
        for (int step = 0; step < 20; step++)
        {
            dp.Add(2 * step, Delta((ulong)step, 1f), [new(0, P)]);
            dp.Add(2 * step + 1, Delta((ulong)step + 100, 1f), [new(0, P)]);
            double q = ClientDpAggregator.SamplingRate(2, 50 + step);   // the population grows
            var release = dp.Release(new float[P], q);
            reference.Step(q, 1.1);
            Assert.Equal(reference.Epsilon(1e-5), release.Spent);
            Assert.True(release.Spent.Epsilon > previous);
            previous = release.Spent.Epsilon;
        }
        Assert.Equal(20, dp.Accountant.History.Count);
    }

    [Fact]
    public void SamplingRate_IsKOverNCappedAtOne()
    {
        Assert.Equal(0.1, ClientDpAggregator.SamplingRate(10, 100));
        Assert.Equal(1.0, ClientDpAggregator.SamplingRate(10, 5));
    }

    [Fact]
    public void Release_Adaptive_MovesCAndNoisesTheSumAtTheSplitMultiplier()
    {
        var options = Central(z: 1.0, c: 10.0, k: 20) with { AdaptiveClipping = new AdaptiveClippingOptions() };
        var dp = new ClientDpAggregator(P, options, NoiseSource.Seeded(6));
        Assert.Equal(AdaptiveClipping.SumNoiseMultiplier(1.0, 1.0), dp.SumNoiseMultiplier, 15);   // σ_b = K/20 = 1
        for (int step = 0; step < 50; step++)
        {
            for (int i = 0; i < 20; i++) dp.Add(i, Delta((ulong)(step * 20 + i), 0.01f), [new(0, P)]);   // norms ≈ 0.08, far below C
            var release = dp.Release(new float[P], 0.2);
            Assert.NotNull(release.UnclippedFraction);
            Assert.Equal(release.ClipNorm * dp.SumNoiseMultiplier, release.SumNoiseStddev, 12);
        }
        Assert.True(dp.ClipNorm < 1.0, $"C = {dp.ClipNorm} did not shrink towards the median norm");
        Assert.Equal(1.0, dp.Accountant.History[0].Sigma);   // the accountant composes the total z
    }

    [Fact]
    public void Release_Distributed_SumOfDeviceSharesCarriesTheCentralNoise()
    {
        // K = t = 8 devices clip and add N(0, z²C²/8) to zero updates; the released mean is the sum/K, whose variance
        // over 40,000 coordinates must be z²C²/K².
        const int Coordinates = 40_000, K = 8;
        var options = new ClientDpOptions { NoiseMultiplier = 1.2, ClipNorm = 0.5, BufferSize = K, Placement = DpNoisePlacement.Distributed };
        var dp = new ClientDpAggregator(Coordinates, options, NoiseSource.Seeded(1));
        Assert.Equal(1.2 * 0.5 / Math.Sqrt(K), dp.DeviceNoiseStddev, 15);
        var rng = new Rng(8);
        for (int d = 0; d < K; d++)
        {
            var update = new float[Coordinates];
            ClientDp.ClipAndNoise(update, [new(0, Coordinates)], dp.ClipNorm, dp.DeviceNoiseStddev, NoiseSource.From(rng.Fork()));
            dp.AddNoised(d, update, [new(0, Coordinates)]);
        }
        var model = new float[Coordinates];
        var release = dp.Release(model, 0.1);
        ClientDpTests.AssertMoments(model.Select(v => (double)v * K), 1.2 * 1.2 * 0.5 * 0.5);
        Assert.Equal(K, release.Contributors);
    }

    [Fact]
    public void Release_DistributedWithTooFewContributors_IsRefused()
    {
        var options = new ClientDpOptions { NoiseMultiplier = 1, ClipNorm = 1, BufferSize = 10, MinContributors = 6, Placement = DpNoisePlacement.Distributed };
        var dp = new ClientDpAggregator(P, options, NoiseSource.Seeded(1));
        for (int d = 0; d < 5; d++) dp.AddNoised(d, new float[P], [new(0, P)]);
        var e = Assert.Throws<InvalidOperationException>(() => dp.Release(new float[P], 0.1));
        Assert.Contains("at least 6", e.Message);
        Assert.Equal(0, dp.Accountant.Steps);
    }

    [Fact]
    public void AddSecureSum_CountsEveryContributor()
    {
        var options = new ClientDpOptions { NoiseMultiplier = 1, ClipNorm = 1, BufferSize = 3, Placement = DpNoisePlacement.Distributed };
        var dp = new ClientDpAggregator(P, options, NoiseSource.Seeded(1));
        var sum = Enumerable.Repeat(3f, P).ToArray();
        dp.AddSecureSum(sum, [4, 5, 6]);
        Assert.Equal(3, dp.Count);
        Assert.Throws<InvalidOperationException>(() => dp.AddSecureSum(sum, [6]));
        var model = new float[P];
        dp.Release(model, 0.1);
        Assert.All(model, v => Assert.Equal(1f, v));   // the sum arrives noised; the server adds nothing and divides by K
    }

    [Fact]
    public void Modes_RefuseTheOtherModesCalls()
    {
        var central = new ClientDpAggregator(P, Central(), NoiseSource.Seeded(1));
        Assert.Throws<InvalidOperationException>(() => central.AddNoised(1, new float[P], [new(0, P)]));
        var distributed = new ClientDpAggregator(P, Central() with { Placement = DpNoisePlacement.Distributed }, NoiseSource.Seeded(1));
        Assert.Throws<InvalidOperationException>(() => distributed.Add(1, new float[P], [new(0, P)]));
    }

    [Fact]
    public void State_RoundTrip_ResumesAccountantAndClipNorm()
    {
        var options = Central(z: 1.0, c: 4.0, k: 20) with { AdaptiveClipping = new AdaptiveClippingOptions() };
        var dp = new ClientDpAggregator(P, options, NoiseSource.Seeded(2));
        for (int step = 0; step < 5; step++)
        {
            for (int i = 0; i < 20; i++) dp.Add(i, Delta((ulong)i, 0.01f), [new(0, P)]);
            dp.Release(new float[P], 0.05);
        }
        var resumed = new ClientDpAggregator(P, options, NoiseSource.Seeded(3), resume: dp.ToState());
        Assert.Equal(dp.ClipNorm, resumed.ClipNorm);
        Assert.Equal(dp.Accountant.Epsilon(1e-5), resumed.Accountant.Epsilon(1e-5));
        Assert.Equal(5, resumed.Accountant.Steps);
    }

    [Fact]
    public void Release_WithNothingAdded_IsRefused()
        => Assert.Throws<InvalidOperationException>(() => new ClientDpAggregator(P, Central(), NoiseSource.Seeded(1)).Release(new float[P], 0.1));

    [Fact]
    public void Options_Invalid_AreRefusedAtConstruction()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClientDpAggregator(P, Central(z: 0), NoiseSource.Seeded(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClientDpAggregator(P, Central(c: -1), NoiseSource.Seeded(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClientDpAggregator(P, Central(k: 0), NoiseSource.Seeded(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClientDpAggregator(P, Central() with { MinContributors = 9 }, NoiseSource.Seeded(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClientDpAggregator(P, Central() with { Delta = 0 }, NoiseSource.Seeded(1)));
        // z = 0.2 cannot spare any budget for a count with σ_b = K/20 = 0.05.
        Assert.Throws<ArgumentException>(() => new ClientDpAggregator(P, Central(z: 0.2, k: 1) with { AdaptiveClipping = new AdaptiveClippingOptions() }, NoiseSource.Seeded(1)));
    }
}
