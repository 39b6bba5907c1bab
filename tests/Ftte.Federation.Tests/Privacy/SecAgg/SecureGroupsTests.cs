using Ftte.Engine;
using Ftte.Federation.Config;
using Ftte.Federation.Privacy;
using Ftte.Federation.Privacy.SecAgg;
using Ftte.Federation.Strategies;
using Ftte.Core.Config;

namespace Ftte.Federation.Tests.Privacy.SecAgg;

/// <summary>FTTE's steps from SecAgg+ groups (<see cref="SecureGroups"/>), driven event by event through a scripted host.</summary>
public class SecureGroupsTests
{
    private static readonly LocalTraining Local = LocalTraining.Default;

    private static FtteStrategy Start(FakeHost host, SecureAggregationOptions secure, int concurrency = 8, int k = 4, ClientDpOptions? dp = null,
        FtteWeighting weighting = FtteWeighting.None)
    {
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: concurrency, BufferSize: k, Trainable: "fc3", Weighting: weighting, StragglerFactor: 0,
            Privacy: dp, SecureAggregation: secure, Seed: 5), Local);
        ftte.Start(host);
        return ftte;
    }

    private static float[] Trained(FakeHost host)
    {
        var ranges = host.Global.Model.Parameter("fc3.weight");
        return host.Global.Weights.Slice(ranges.Offset, ranges.Count).ToArray();
    }

    /// <summary>Fires the host's pending timers (in order) until none is left.</summary>
    private static void RunTimers(FakeHost host, Strategy strategy)
    {
        while (host.Timers.Count > 0)
        {
            var (_, tag) = host.Timers[0];
            host.Timers.RemoveAt(0);
            strategy.OnTimer(host, tag);
        }
    }

    private static TaskTicket[] FirstGroup(FakeHost host, int g) => [.. host.Dispatched.OrderBy(t => t.TaskId).Take(g)];

    [Fact]
    public void AGroupsUnmaskedSumMakesOneStep_EqualToThePlainMeanWithinFixedPointError()
    {
        var host = new FakeHost(20);
        var ftte = Start(host, new SecureAggregationOptions { GroupSize = 6 });
        Assert.Equal(4, ftte.Spec.Masked!.WordBytes);
        var before = Trained(host);
        var members = FirstGroup(host, 6);
        float[] values = [0.5f, -0.25f, 0.125f, 1f, -0.75f, 0.3f];
        for (int i = 0; i < 6; i++) Assert.Equal(UpdateVerdict.Accepted, host.Deliver(ftte, members[i], values[i]));
        Assert.Empty(host.Commits);            // the step waits for the unmasking round trip
        RunTimers(host, ftte);
        Assert.Equal([6], host.Commits);
        float mean = values.Average();
        var after = Trained(host);
        for (int j = 0; j < after.Length; j++) Assert.Equal(before[j] + mean, after[j], 1e-5f);
    }

    [Fact]
    public void FedBuffSteps_FromGroupsToo()
    {
        var host = new FakeHost(20);
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 8, BufferSize: 4, Trainable: "fc3", Seed: 5,
            SecureAggregation: new SecureAggregationOptions { GroupSize = 6 }), Local);
        fedbuff.Start(host);
        Assert.All(host.Dispatched, t => Assert.Equal(4, t.Spec.Masked!.WordBytes));
        var before = Trained(host);
        var members = FirstGroup(host, 6);
        float[] values = [0.2f, -0.1f, 0.4f, 0.3f, 0.1f, -0.3f];
        for (int i = 0; i < 6; i++) Assert.Equal(UpdateVerdict.Accepted, host.Deliver(fedbuff, members[i], values[i]));
        RunTimers(host, fedbuff);
        Assert.Equal([6], host.Commits);
        // τ = 0 for the first group: s(0) = 1, so the step is the plain mean.
        Assert.All(Trained(host).Zip(before), p => Assert.Equal(p.Second + values.Average(), p.First, 1e-5f));
        Assert.Contains(fedbuff.Notes, n => n.Contains("1 group(s) applied"));
    }

    [Fact]
    public void DropoutsAreUnmaskedAway_AndAGroupWithFewerThanTSurvivorsIsDiscardedWithoutAStep()
    {
        var host = new FakeHost(20);
        var ftte = Start(host, new SecureAggregationOptions { GroupSize = 6 });
        var before = Trained(host);
        var g = FirstGroup(host, 6);
        // Sealed at 6 members; two drop after sharing keys, four deliver: t = 4 survivors unmask the sum of the four.
        host.Fail(ftte, g[0]);
        host.Fail(ftte, g[1]);
        foreach (var t in g[2..]) host.Deliver(ftte, t, 0.2f);
        RunTimers(host, ftte);
        Assert.Equal([4], host.Commits);
        Assert.All(Trained(host).Zip(before), p => Assert.Equal(p.Second + 0.2f, p.First, 1e-5f));

        // The next group: three drop, three deliver — one fewer than t = 4: no step, nothing revealed, counted.
        var next = host.Dispatched.OrderBy(t => t.TaskId).Skip(6).Take(6).ToArray();
        foreach (var t in next[..3]) host.Fail(ftte, t);
        foreach (var t in next[3..]) host.Deliver(ftte, t, 0.2f);
        RunTimers(host, ftte);
        Assert.Equal([4], host.Commits);
        Assert.Contains(ftte.Notes, n => n.Contains("1 discarded") && n.Contains("threshold"));
    }

    [Fact]
    public void AfterKHaveSentTheGroupWaitsTheGrace_ThenCutsMembersStillTraining()
    {
        var host = new FakeHost(20);
        var ftte = Start(host, new SecureAggregationOptions { GroupSize = 6, GraceSeconds = 7 });
        var g = FirstGroup(host, 6);
        foreach (var t in g[..4]) host.Deliver(ftte, t, 0.1f);
        Assert.Contains(host.Timers, t => t.Delay == 7);
        Assert.Empty(host.Commits);
        RunTimers(host, ftte);
        Assert.Equal([4], host.Commits);
        Assert.Contains(g[4].TaskId, host.Cancelled);
        Assert.Contains(g[5].TaskId, host.Cancelled);
        // A cut member's slot is refilled: M tasks stay in flight.
        Assert.Equal(8, host.InFlight);
    }

    [Fact]
    public void ADeviceIsNeverTwiceInOneGroup_AndAGroupSealsEarlyWhenKMembersHaveFinished()
    {
        var host = new FakeHost(5);
        var ftte = Start(host, new SecureAggregationOptions { GroupSize = 8 }, concurrency: 5);
        var g = FirstGroup(host, 5);
        // Device 0 finishes first: it is idle, but already in the open group, so it gets no task there.
        host.Deliver(ftte, g[0], 0.4f);
        Assert.Equal(4, host.InFlight);
        foreach (var t in g[1..4]) host.Deliver(ftte, t, 0.4f);
        // K = 4 finished: the group sealed with its 5 members (not waiting for 8); a new group takes the freed devices.
        Assert.Equal(5, host.InFlight);
        host.Deliver(ftte, g[4], 0.4f);
        RunTimers(host, ftte);
        Assert.Equal([5], host.Commits);
    }

    [Fact]
    public void SixteenBitRingWithEightBitValues_StepIsUnbiasedWithinTheQuantisationStep()
    {
        var host = new FakeHost(20);
        var ftte = Start(host, new SecureAggregationOptions { GroupSize = 6, RingBits = 16, ValueBits = 8, ValueRange = 1 });
        Assert.Equal(2, ftte.Spec.Masked!.WordBytes);
        var before = Trained(host);
        var g = FirstGroup(host, 6);
        float[] values = [0.5f, -0.25f, 0.13f, 0.9f, -0.7f, 0.31f];
        for (int i = 0; i < 6; i++) host.Deliver(ftte, g[i], values[i]);
        RunTimers(host, ftte);
        var after = Trained(host);
        float mean = values.Average();
        // Each value moves by at most one step of 1/127 in stochastic rounding: the mean of six by at most that.
        double meanError = after.Zip(before).Average(p => p.First - p.Second - mean);
        Assert.All(after.Zip(before), p => Assert.InRange(p.First - p.Second - mean, -1.0 / 127, 1.0 / 127));
        Assert.InRange(meanError, -0.002, 0.002);
    }

    [Fact]
    public void WithDistributedDp_EachGroupIsOneReleaseAccountedAtQEqualsGOverN_AndTheBudgetEndsTheRun()
    {
        var host = new FakeHost(40);
        var dp = new ClientDpOptions { NoiseMultiplier = 1.0, ClipNorm = 1.0, BufferSize = 4, Placement = DpNoisePlacement.Distributed, MaxEpsilon = 3 };
        var ftte = Start(host, new SecureAggregationOptions { GroupSize = 6, RingBits = 16, ValueBits = 8 }, dp: dp);
        int steps = 0;
        for (int round = 0; round < 200 && ftte.StopReason is null; round++)
        {
            var open = host.Active.Values.OrderBy(t => t.TaskId).Take(6).ToArray();
            foreach (var t in open) host.Deliver(ftte, t, 0.05f);
            RunTimers(host, ftte);
            steps = host.Commits.Count;
        }
        Assert.NotNull(ftte.StopReason);
        Assert.Contains("privacy budget", ftte.StopReason);
        Assert.True(steps > 1);
        // ε after the last release, composed at q = G/N = 6/40 per step.
        var accountant = new RdpAccountant();
        accountant.Step(6.0 / 40, 1.0, steps);
        Assert.Equal(accountant.Epsilon(1e-5).Epsilon, ftte.PrivacySpent!.Epsilon, 1e-9);
        Assert.True(ftte.PrivacySpent.Epsilon <= 3);
    }

    [Fact]
    public void ConfigErrorsNameTheKey()
    {
        var ring = Assert.Throws<ConfigException>(() => new StrategyConfig { Kind = StrategyKind.Ftte, SecureAggregation = new SecureAggregationConfig { RingBits = 24 } }.Validate("strategies[0]"));
        Assert.Contains("ringBits", ring.Message);
        var noise = Assert.Throws<ConfigException>(() => new StrategyConfig { Kind = StrategyKind.Ftte, Privacy = new PrivacyConfig { Noise = "distributed" } }.Validate("strategies[0]"));
        Assert.Contains("secureAggregation", noise.Message);
        var weighting = Assert.Throws<ConfigException>(() => new StrategyConfig { Kind = StrategyKind.Ftte, Weighting = "age-and-variance", SecureAggregation = new SecureAggregationConfig() }.Validate("strategies[0]"));
        Assert.Contains("weighting", weighting.Message);
        var fedasync = Assert.Throws<ConfigException>(() => new StrategyConfig { Kind = StrategyKind.Fedasync, SecureAggregation = new SecureAggregationConfig() }.Validate("strategies[0]"));
        Assert.Contains("secureAggregation", fedasync.Message);
    }
}
