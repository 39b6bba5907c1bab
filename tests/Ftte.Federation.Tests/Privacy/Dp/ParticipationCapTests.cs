using System.Text.Json.Nodes;
using Ftte.Core.Config;
using Ftte.Engine;
using Ftte.Engine.Training;
using Ftte.Federation.Config;
using Ftte.Federation.Privacy;
using Ftte.Federation.Strategies;

namespace Ftte.Federation.Tests.Privacy.Dp;

/// <summary>
/// The participation cap: no device joins more than c released steps, so every device's ε is bounded by c unsampled
/// Gaussian mechanisms whatever the buffered server's (non-Poisson) selection does.
/// </summary>
public sealed class ParticipationCapTests
{
    private static readonly LocalTraining Local = new(1, 8, new SgdOptions { LearningRate = 0.1f }, LearningRateSchedule.Constant);

    private static ClientDpOptions Dp(double z, int? cap, double? maxEpsilon = null) =>
        new() { NoiseMultiplier = z, ClipNorm = 1, BufferSize = 0, MaxEpsilon = maxEpsilon, MaxParticipations = cap };

    /// <summary>Delivers the oldest task in flight until the strategy stops (or a step limit); returns accepted updates per device.</summary>
    private static Dictionary<int, int> RunToStop(FakeHost host, Strategy strategy, int maxEvents = 2_000)
    {
        var accepted = new Dictionary<int, int>();
        for (int i = 0; i < maxEvents && strategy.StopReason is null && host.Active.Count > 0; i++)
        {
            var task = host.Active.Values.OrderBy(t => t.TaskId).First();
            if (host.Deliver(strategy, task, 0.05f) == UpdateVerdict.Accepted)
                accepted[task.DeviceId] = accepted.GetValueOrDefault(task.DeviceId) + 1;
        }
        return accepted;
    }

    [Fact]
    public void FedBuff_NoDeviceExceedsTheCap_AndTheRunEndsWhenFewerThanKRemain()
    {
        var host = new FakeHost(devices: 12);
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 4, BufferSize: 3, Seed: 3, Privacy: Dp(z: 1, cap: 2)), Local);
        fedbuff.Start(host);
        var accepted = RunToStop(host, fedbuff);

        Assert.NotNull(fedbuff.StopReason);
        Assert.StartsWith("participation cap:", fedbuff.StopReason);
        Assert.Contains("fewer than the K = 3", fedbuff.StopReason);
        Assert.All(accepted.Values, n => Assert.True(n <= 2, $"a device had {n} updates accepted"));
        // 12 devices × 2 steps / 3 per step = 8 steps at most; the run ends once fewer than 3 devices are open.
        Assert.InRange(host.Commits.Count, 7, 8);
        // No task went to a device after it had been retired: at most two tasks per device were ever dispatched.
        Assert.All(host.Dispatched.GroupBy(t => t.DeviceId), g => Assert.True(g.Count() <= 2, $"device {g.Key} got {g.Count()} tasks"));
        // The per-device figure is that of the most active device's 2 steps at q = 1.
        Assert.Equal(PrivateStep.UnsampledEpsilon(Dp(1, 2), 2).Epsilon, fedbuff.PrivacyPerDevice!.Epsilon, 12);
        Assert.Contains(fedbuff.Notes, n => n.StartsWith("DP participation cap: every device joins at most 2", StringComparison.Ordinal));
    }

    [Fact]
    public void Ftte_NoDeviceExceedsTheCap()
    {
        var host = new FakeHost(devices: 10);
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 4, BufferSize: 2, Trainable: "all", Weighting: FtteWeighting.Age,
            StragglerFactor: 0, Seed: 7, Privacy: Dp(z: 1, cap: 3)), Local);
        ftte.Start(host);
        var accepted = RunToStop(host, ftte);
        Assert.StartsWith("participation cap:", ftte.StopReason);
        Assert.All(accepted.Values, n => Assert.True(n <= 3));
        Assert.Equal(3, accepted.Values.Max());
        Assert.All(host.Dispatched.GroupBy(t => t.DeviceId), g => Assert.True(g.Count() <= 3));
    }

    [Fact]
    public void AnUpdatePastTheCap_IsDroppedLate_NotAdded()
    {
        var host = new FakeHost(devices: 3);
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 1, BufferSize: 2, Privacy: Dp(z: 1, cap: 1)), Local);
        fedbuff.Start(host);
        var first = host.Active.Values.Single();
        Assert.Equal(UpdateVerdict.Accepted, host.Deliver(fedbuff, first, 0.1f));
        Assert.False(fedbuff.Participation.IsEligible(first.DeviceId)); // its one allowed update is in: no more tasks
        Assert.DoesNotContain(host.Active.Values, t => t.DeviceId == first.DeviceId);
        // A second task reaching the server anyway (e.g. sent before a restart) is refused.
        host.Active.Clear();
        host.Dispatch(first.DeviceId, first.Spec);
        Assert.Equal(UpdateVerdict.DroppedLate, host.Deliver(fedbuff, host.Active.Values.Single(), 0.1f));
        Assert.Empty(host.Commits);
    }

    [Fact]
    public void CappedDevices_LeaveThePopulation_QIsKOverTheRemaining()
    {
        var host = new FakeHost(devices: 10);
        var participation = Participation.ByMemory(host.Devices, 0, ignoreMemory: false);
        var options = Dp(z: 1, cap: 1) with { BufferSize = 2 };
        var step = new PrivateStep(host.Global.Model.ParameterCount, options, NoiseSource.Seeded(1), null, participation);
        var spec = new TaskSpec(TrainableSet.Parse(host.Global.Model, "all"), Local);
        ClientUpdate Update(int device)
        {
            var ticket = host.Dispatch(device, spec);
            host.Active.Remove(ticket.TaskId);
            return new ClientUpdate
            {
                Task = ticket, Delta = new float[host.Global.Model.ParameterCount], BaseWeights = host.Global.Weights.ToArray(),
                Ranges = [new WeightRange(0, host.Global.Model.ParameterCount)], Samples = 1, ReceivedAt = 0, Staleness = 0,
            };
        }
        step.Add(Update(0), 1);
        Assert.True(step.Add(Update(1), 1));
        Assert.Equal(8, participation.EligibleDevices); // both retired on entering their last step...
        Assert.True(step.TryRelease(host.Global.Weights, 1));
        Assert.Equal(2.0 / 10, step.Last!.Q, 12);       // ...but still in this step's population
        step.Add(Update(2), 1);
        step.Add(Update(3), 1);
        Assert.True(step.TryRelease(host.Global.Weights, 1));
        Assert.Equal(2.0 / 8, step.Last!.Q, 12);        // devices 0 and 1 have left it
        Assert.Equal(1, step.StepsOf(0));
        Assert.False(step.Admits(0));
        Assert.True(step.Admits(4));
    }

    [Fact]
    public void TheGuarantee_IsCUnsampledGaussianSteps_ByHandAndByTheAccountant()
    {
        const double z = 2.0, delta = 1e-5;
        const int cap = 10;
        var options = Dp(z, cap) with { Conversion = RdpConversion.Classic };
        // Gaussian mechanism RDP α/(2z²) per step (Mironov 2017, Prop. 7), c steps add, classic conversion ε = RDP + ln(1/δ)/(α−1).
        double byHand = RdpAccountant.DefaultOrders.Min(a => cap * a / (2 * z * z) + Math.Log(1 / delta) / (a - 1));
        Assert.Equal(byHand, PrivateStep.UnsampledEpsilon(options, cap).Epsilon, 10);

        var accountant = new RdpAccountant();
        accountant.Step(1.0, z, cap);
        Assert.Equal(accountant.Epsilon(delta).Epsilon, PrivateStep.UnsampledEpsilon(options with { Conversion = RdpConversion.Improved }, cap).Epsilon, 12);
    }

    [Fact]
    public void WithACap_MaxEpsilonBoundsThePerDeviceGuarantee_AndTheStopSaysSo()
    {
        var host = new FakeHost(devices: 4);
        var options = Dp(z: 1, cap: 100, maxEpsilon: 8);
        // z = 1 at q = 1: ε(2 steps) ≤ 8 < ε(3 steps) or so; the accountant says exactly.
        long allowed = new RdpAccountant().RemainingSteps(1.0, 1, 8, 1e-5);
        Assert.InRange(allowed, 1, 5);
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 2, BufferSize: 2, Seed: 2, Privacy: options), Local);
        fedbuff.Start(host);
        RunToStop(host, fedbuff);
        Assert.NotNull(fedbuff.StopReason);
        Assert.Contains("per-device guarantee", fedbuff.StopReason);
        Assert.Contains($"take part in {allowed + 1} released steps", fedbuff.StopReason);
        Assert.Contains("> 8 at δ=1e-5", fedbuff.StopReason);
        Assert.True(fedbuff.PrivacyPerDevice!.Epsilon <= 8);
        Assert.Equal(PrivateStep.UnsampledEpsilon(options, allowed).Epsilon, fedbuff.PrivacyPerDevice.Epsilon, 12);
    }

    [Fact]
    public void SaveAndRestore_KeepsTheCounts_AndACappedDeviceStaysOut()
    {
        var options = new FedBuffOptions(Concurrency: 3, BufferSize: 3, Seed: 4, Privacy: Dp(z: 1.1, cap: 1));
        var host = new FakeHost(devices: 9);
        var before = new FedBuff(options, Local);
        before.Start(host);
        foreach (var t in host.Active.Values.ToList()) host.Deliver(before, t, 0.1f);
        Assert.Single(host.Commits);
        var capped = host.Dispatched.Take(3).Select(t => t.DeviceId).ToList();
        string state = before.SaveState()!;

        var restartedHost = new FakeHost(devices: 9);
        var after = new FedBuff(options, Local);
        after.Start(restartedHost);
        after.RestoreState(state);
        Assert.Equal(before.PrivacySpent!.Epsilon, after.PrivacySpent!.Epsilon, 12);
        Assert.Equal(before.PrivacyPerDevice!.Epsilon, after.PrivacyPerDevice!.Epsilon, 12);
        Assert.All(capped, d => Assert.False(after.Participation.IsEligible(d)));
        Assert.Equal(6, after.Participation.EligibleDevices);
        Assert.Null(after.StopReason);
        // A task sent at start (before the state was restored) to a capped device: its update is refused.
        foreach (var t in restartedHost.Active.Values.Where(t => capped.Contains(t.DeviceId)).ToList())
            Assert.Equal(UpdateVerdict.DroppedLate, restartedHost.Deliver(after, t, 0.1f));
    }

    [Fact]
    public void RestoringAStateWhereEveryDeviceIsCapped_EndsTheRun()
    {
        var options = new FedBuffOptions(Concurrency: 3, BufferSize: 3, Seed: 4, Privacy: Dp(z: 1.1, cap: 1));
        var host = new FakeHost(devices: 4);
        var before = new FedBuff(options, Local);
        before.Start(host);
        foreach (var t in host.Active.Values.ToList()) host.Deliver(before, t, 0.1f);
        Assert.StartsWith("participation cap:", before.StopReason); // 3 capped, 1 open < K = 3

        var after = new FedBuff(options, Local);
        after.Start(new FakeHost(devices: 4));
        after.RestoreState(before.SaveState()!);
        Assert.StartsWith("participation cap:", after.StopReason);
    }

    [Fact]
    public void AStateSavedBeforeCountsWereKept_StillLoads_WithNoCounts()
    {
        var options = new FedBuffOptions(Concurrency: 3, BufferSize: 3, Privacy: Dp(z: 1.1, cap: 1));
        var host = new FakeHost(devices: 9);
        var before = new FedBuff(options, Local);
        before.Start(host);
        foreach (var t in host.Active.Values.ToList()) host.Deliver(before, t, 0.1f);
        var json = JsonNode.Parse(before.SaveState()!)!.AsObject();
        Assert.True(json.Remove("StepsPerDevice"));

        var after = new FedBuff(options, Local);
        after.Start(new FakeHost(devices: 9));
        after.RestoreState(json.ToJsonString());
        Assert.Equal(before.PrivacySpent!.Epsilon, after.PrivacySpent!.Epsilon, 12);
        Assert.Null(after.PrivacyPerDevice);
        Assert.Equal(9, after.Participation.EligibleDevices);
    }

    [Fact]
    public void Config_MaxParticipations_IsParsed_AndTyposNameTheKey()
    {
        var config = StrictJson.Parse<StrategyConfig>("""{ "kind": "ftte", "trainable": "all", "privacy": { "noiseMultiplier": 3, "maxParticipations": 20, "maxEpsilon": 8 } }""", "test");
        var ftte = Assert.IsType<FtteStrategy>(config.Create(LocalTraining.Default, false, 1));
        Assert.Equal(20, ftte.Options.Privacy!.MaxParticipations);

        var e = Assert.Throws<ConfigException>(() => StrictJson.Parse<StrategyConfig>("""{ "kind": "fedbuff", "privacy": { "maxParticipation": 20 } }""", "test"));
        Assert.Contains("maxParticipation", e.Message);
        e = Assert.Throws<ConfigException>(() => StrictJson.Parse<StrategyConfig>("""{ "kind": "fedbuff", "privacy": { "maxParticipations": 0 } }""", "test"));
        Assert.Contains("maxParticipations", e.Message);
    }
}
