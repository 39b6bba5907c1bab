using Ftte.Engine.Training;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Privacy;
using Ftte.Federation.Strategies;

namespace Ftte.Federation.Tests.Privacy.Dp;

/// <summary>FedBuff and FTTE with client-level DP at each server step: clipped, noised, accounted, stopped at ε_max.</summary>
public sealed class PrivateStrategyTests
{
    private static readonly LocalTraining Local = new(1, 8, new SgdOptions { LearningRate = 0.1f }, LearningRateSchedule.Constant);

    private static ClientDpOptions Dp(double z, double clip, double? maxEpsilon = null) =>
        new() { NoiseMultiplier = z, ClipNorm = clip, BufferSize = 0, MaxEpsilon = maxEpsilon };

    [Fact]
    public void FedBuff_UnderDp_MovesTheModelByTheClippedMeanPlusNoise_AndAccountsEveryStep()
    {
        var host = new FakeHost(devices: 10);
        var before = host.Global.Weights.ToArray();
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 4, BufferSize: 4, Staleness: StalenessFunction.Constant, Privacy: Dp(z: 1e-6, clip: 0.5)), Local);
        fedbuff.Start(host);
        foreach (var t in host.Dispatched.Take(4).ToList()) Assert.Equal(UpdateVerdict.Accepted, host.Deliver(fedbuff, t, value: 1f));

        Assert.Equal([4], host.Commits);
        // Each update (all ones, norm √n) is clipped to norm 0.5; the mean of four equal clipped updates moves each
        // coordinate by 0.5/√n (noise z = 1e-6 is negligible).
        int n = host.Global.Model.ParameterCount;
        double expected = 0.5 / Math.Sqrt(n);
        for (int j = 0; j < n; j++) Assert.Equal(before[j] + expected, host.Global.Weights[j], 1e-4);
        Assert.NotNull(fedbuff.PrivacySpent);
        Assert.True(fedbuff.PrivacySpent!.Epsilon > 0);
    }

    [Fact]
    public void FedBuff_UnderDp_StopsBeforeTheBudgetIsExceeded_AndSaysWhy()
    {
        var host = new FakeHost(devices: 4);
        // q = K/N = 1 and z = 1: two or three steps reach ε = 8.
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 2, BufferSize: 2, Privacy: Dp(z: 1, clip: 1, maxEpsilon: 8)), Local);
        fedbuff.Start(host);
        for (int i = 0; i < 200 && fedbuff.StopReason is null; i++)
            host.Deliver(fedbuff, host.Active.Values.First(), value: 0.01f);
        Assert.NotNull(fedbuff.StopReason);
        Assert.Contains("> 8", fedbuff.StopReason);
        Assert.True(fedbuff.PrivacySpent!.Epsilon <= 8);
        int steps = host.Commits.Count;
        Assert.True(steps >= 1);
        // Stopped: updates still in flight are not merged, and no new work goes out.
        int dispatched = host.Dispatched.Count;
        foreach (var t in host.Active.Values.ToList()) Assert.Equal(UpdateVerdict.DroppedLate, host.Deliver(fedbuff, t, 0.01f));
        Assert.Equal(dispatched, host.Dispatched.Count);
        Assert.Equal(steps, host.Commits.Count);
    }

    [Fact]
    public void FedBuff_UnderDp_ADevicesSecondUpdateWaitsForTheNextStep()
    {
        var host = new FakeHost(devices: 3);
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 1, BufferSize: 2, Privacy: Dp(z: 1, clip: 1)), Local);
        fedbuff.Start(host);
        // Only one task in flight at a time, and the sampler may pick the same device twice in a row.
        var first = host.Active.Values.Single();
        host.Deliver(fedbuff, first, 0.1f);
        host.Active.Clear();
        host.Dispatch(first.DeviceId, first.Spec);
        host.Deliver(fedbuff, host.Active.Values.Single(), 0.1f);
        Assert.Empty(host.Commits); // same device twice: one step may hold it once
    }

    [Fact]
    public void SameSeed_SameNoise_SameModel()
    {
        float[] Run()
        {
            var host = new FakeHost(devices: 6);
            var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 3, BufferSize: 3, Seed: 5, Privacy: Dp(z: 1, clip: 1)), Local);
            fedbuff.Start(host);
            foreach (var t in host.Dispatched.Take(3).ToList()) host.Deliver(fedbuff, t, 0.2f);
            return host.Global.Weights.ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Ftte_UnderDp_RefusesTheVarianceWeight_AndNestedBudgets()
    {
        Assert.Contains("weighting 'age' or 'none'", Assert.Throws<ArgumentException>(() =>
            new FtteStrategy(new FtteOptions(Trainable: "all", Privacy: Dp(1, 1)), Local)).Message);
        Assert.Contains("nested budgets", Assert.Throws<ArgumentException>(() =>
            new FtteStrategy(new FtteOptions(Trainable: "all", Weighting: FtteWeighting.Age, NestedBudgets: [Selection.MemoryBudget.Parse("q0.5")], Privacy: Dp(1, 1)), Local)).Message);
    }

    [Fact]
    public void Ftte_UnderDp_StepsOnlyOnItsTrainableSet_AndReportsEpsilon()
    {
        var host = new FakeHost(devices: 8);
        var before = host.Global.Weights.ToArray();
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 4, BufferSize: 2, Trainable: "last:1", Weighting: FtteWeighting.Age,
            StragglerFactor: 0, Privacy: Dp(z: 1, clip: 1)), Local);
        ftte.Start(host);
        foreach (var t in host.Dispatched.Take(2).ToList()) host.Deliver(ftte, t, 0.05f);
        Assert.Single(host.Commits);
        var trained = ftte.Spec.Trainable.Ranges(host.Global.Model);
        var inTrained = new bool[before.Length];
        foreach (var r in trained) for (int j = r.Offset; j < r.End; j++) inTrained[j] = true;
        for (int j = 0; j < before.Length; j++)
            if (!inTrained[j]) Assert.Equal(before[j], host.Global.Weights[j]);
        Assert.True(ftte.PrivacySpent!.Epsilon > 0);
    }

    [Fact]
    public void SavedState_RestoredAfterARestart_KeepsTheStepsCounted()
    {
        var host = new FakeHost(devices: 6);
        var options = new FedBuffOptions(Concurrency: 3, BufferSize: 3, Privacy: Dp(z: 1.1, clip: 1));
        var before = new FedBuff(options, Local);
        before.Start(host);
        for (int step = 0; step < 2; step++)
            foreach (var t in host.Active.Values.ToList()) host.Deliver(before, t, 0.1f);
        Assert.Equal(2, host.Commits.Count);
        string state = before.SaveState()!;

        var after = new FedBuff(options, Local);
        after.Start(new FakeHost(devices: 6));
        Assert.Null(after.PrivacySpent);
        after.RestoreState(state);
        Assert.Equal(before.PrivacySpent!.Epsilon, after.PrivacySpent!.Epsilon, 12);
    }

    [Fact]
    public void TheWorstCaseBound_WithoutSampling_IsReportedBesideTheSampledEpsilon()
    {
        var host = new FakeHost(devices: 40);
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 3, BufferSize: 3, Privacy: Dp(z: 1.1, clip: 1)), Local);
        fedbuff.Start(host);
        for (int step = 0; step < 3; step++)
            foreach (var t in host.Active.Values.ToList()) host.Deliver(fedbuff, t, 0.1f);
        Assert.Equal(3, host.Commits.Count);
        string note = Assert.Single(fedbuff.Notes, n => n.StartsWith("DP worst case", StringComparison.Ordinal));
        // q = 3/40 per step is the headline; a device in every step gets no sampling amplification.
        var sampled = fedbuff.PrivacySpent!.Epsilon;
        double bound = double.Parse(note.Split("ε ≤ ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(bound > sampled, $"bound {bound} vs sampled {sampled}");
    }
}
