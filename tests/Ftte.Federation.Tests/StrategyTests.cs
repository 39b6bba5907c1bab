using Ftte.Engine.Training;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Strategies;

namespace Ftte.Federation.Tests;

public class StrategyTests
{
    private static readonly LocalTraining Local = LocalTraining.Default;

    [Fact]
    public void FedBuff_KeepsMInFlight_AndStepsExactlyWhenKUpdatesAreBuffered()
    {
        var host = new FakeHost(30);
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 6, BufferSize: 4, Staleness: StalenessFunction.Constant), Local);
        fedbuff.Start(host);
        Assert.Equal(6, host.InFlight);
        var before = host.Global.Weights.ToArray();

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(UpdateVerdict.Accepted, host.Deliver(fedbuff, host.Active.Values.First(), 0.5f));
            Assert.Empty(host.Commits);
            Assert.Equal(6, host.InFlight); // each arrival is replaced at once
        }
        Assert.Equal(before, host.Global.Weights.ToArray()); // nothing applied before K
        host.Deliver(fedbuff, host.Active.Values.First(), 0.5f);
        Assert.Equal([4], host.Commits);
        Assert.Equal(1, host.Global.Version);
        // x ← x + η·(Σ s(τ)Δ)/K with s = 1, Δ = 0.5 everywhere: every weight moved by exactly 0.5.
        var after = host.Global.Weights.ToArray();
        for (int j = 0; j < after.Length; j++) Assert.Equal(before[j] + 0.5f, after[j]);
    }

    [Fact]
    public void FedBuff_WeightsByStaleness_AndDropsUpdatesPastTheCap()
    {
        var host = new FakeHost(10);
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 3, BufferSize: 1, MaxStaleness: 1), Local);
        fedbuff.Start(host);
        var old = host.Active.Values.OrderBy(t => t.TaskId).ToArray();
        host.Deliver(fedbuff, old[0], 1f);          // τ = 0 → s = 1, version 1
        var w1 = host.Global.Weights[0];
        host.Deliver(fedbuff, old[1], 1f);          // τ = 1 → s = 1/√2, version 2
        Assert.Equal(w1 + 1f / MathF.Sqrt(2), host.Global.Weights[0], 5);
        Assert.Equal(UpdateVerdict.DroppedStale, host.Deliver(fedbuff, old[2], 1f)); // τ = 2 > cap
        Assert.Equal(2, host.Global.Version);
        Assert.Equal(3, host.InFlight);
    }

    [Fact]
    public void FedAvg_OverSelects_ClosesTheRoundAtC_AndCancelsTheSurplus()
    {
        var host = new FakeHost(20);
        var fedavg = new FedAvg(new FedAvgOptions(DevicesPerRound: 4, OverSelection: 1.5, DeadlineSeconds: 30), Local);
        fedavg.Start(host);
        Assert.Equal(6, host.Dispatched.Count);
        Assert.Equal([(30.0, 1)], host.Timers);
        var round = host.Active.Values.ToArray();
        var before = host.Global.Weights.ToArray();
        // Sample-weighted mean: Σ n_k Δ_k / Σ n_k.
        float[] values = [1f, 2f, 3f, 4f];
        for (int i = 0; i < 4; i++) host.Deliver(fedavg, round[i], values[i]);
        Assert.Equal([4], host.Commits);
        Assert.Equal(2, host.Cancelled.Count);
        Assert.Equal(round.Skip(4).Select(t => t.TaskId), host.Cancelled);
        double n = round.Take(4).Sum(t => host.Devices[t.DeviceId].TrainSamples);
        double expected = round.Take(4).Select((t, i) => host.Devices[t.DeviceId].TrainSamples * values[i]).Sum() / n;
        Assert.Equal(before[0] + expected, host.Global.Weights[0], 4);
        // The next round has started; a late update from the old round is refused.
        Assert.Equal(12, host.Dispatched.Count);
    }

    [Fact]
    public void FedAvg_DeadlineClosesTheRoundWithWhatArrived()
    {
        var host = new FakeHost(10);
        var fedavg = new FedAvg(new FedAvgOptions(DevicesPerRound: 5, DeadlineSeconds: 10), Local);
        fedavg.Start(host);
        var round = host.Active.Values.ToArray();
        host.Deliver(fedavg, round[0], 1f);
        host.Fail(fedavg, round[1]);
        fedavg.OnTimer(host, 1);
        Assert.Equal([1], host.Commits);
        Assert.Equal(3, host.Cancelled.Count);
        Assert.Equal(10, host.Dispatched.Count);
        fedavg.OnTimer(host, 1); // a stale timer of a closed round does nothing
        Assert.Equal([1], host.Commits);
    }

    [Fact]
    public void FedAvg_AllFailed_StartsANewRoundWithoutChangingTheModel()
    {
        var host = new FakeHost(4);
        var fedavg = new FedAvg(new FedAvgOptions(DevicesPerRound: 2), Local);
        fedavg.Start(host);
        var before = host.Global.Weights.ToArray();
        foreach (var t in host.Active.Values.ToArray()) host.Fail(fedavg, t);
        Assert.Empty(host.Commits);
        Assert.Equal(before, host.Global.Weights.ToArray());
        Assert.Equal(4, host.Dispatched.Count);
    }

    [Fact]
    public void FedAvg_WaitsWhenNoDeviceIsOnline_AndResumesWhenOneIs()
    {
        var host = new FakeHost(3);
        Array.Fill(host.Online, false);
        var fedavg = new FedAvg(new FedAvgOptions(DevicesPerRound: 2), Local);
        fedavg.Start(host);
        Assert.Empty(host.Dispatched);
        Assert.Equal(1, host.WaitRequests);
        host.Online[2] = true;
        fedavg.OnDevicesAvailable(host);
        Assert.Single(host.Dispatched);
        Assert.Equal(2, host.Dispatched[0].DeviceId);
    }

    [Fact]
    public void FedAsync_MixesTheClientModel_WithAlphaTimesStaleness()
    {
        var host = new FakeHost(5);
        var fedasync = new FedAsync(new FedAsyncOptions(Concurrency: 2, Alpha: 0.5, Staleness: StalenessFunction.Polynomial(1)), Local);
        fedasync.Start(host);
        var tasks = host.Active.Values.OrderBy(t => t.TaskId).ToArray();
        float x0 = host.Global.Weights[0];
        host.Deliver(fedasync, tasks[0], 1f); // τ=0: α_t = 0.5; x_client = x0 + 1 → x = x0 + 0.5
        Assert.Equal(x0 + 0.5f, host.Global.Weights[0], 5);
        // τ=1: α_t = 0.5·(1+1)^−1 = 0.25; FakeHost passes the current weights as base, so x_client = x + 1.
        float x1 = host.Global.Weights[0];
        host.Deliver(fedasync, tasks[1], 1f);
        Assert.Equal(x1 + 0.25f, host.Global.Weights[0], 5);
        Assert.Equal([1, 1], host.Commits);
    }

    [Fact]
    public void Strategies_LeaveOutDevicesWhoseMemoryCannotHoldThePlan()
    {
        var host = new FakeHost(6, memory: 1024);
        var fedbuff = new FedBuff(new FedBuffOptions(Concurrency: 3, BufferSize: 2), Local);
        var e = Assert.Throws<InvalidOperationException>(() => fedbuff.Start(host));
        Assert.Contains("no device can hold the training plan", e.Message);

        var ignoring = new FedBuff(new FedBuffOptions(Concurrency: 3, BufferSize: 2, IgnoreMemory: true), Local);
        ignoring.Start(host);
        Assert.Equal(3, host.InFlight);
        Assert.True(ignoring.Participation.IgnoredMemory);
    }

    [Theory]
    [InlineData(StalenessKind.Constant, 0.5, 4, 7, 1.0)]
    [InlineData(StalenessKind.Polynomial, 0.5, 4, 3, 0.5)]          // (1+3)^−0.5
    [InlineData(StalenessKind.Polynomial, 1.0, 4, 0, 1.0)]
    [InlineData(StalenessKind.Hinge, 2.0, 4, 4, 1.0)]               // τ ≤ b
    [InlineData(StalenessKind.Hinge, 2.0, 4, 6, 0.2)]               // 1/(2·(6−4)+1)
    [InlineData(StalenessKind.InverseSqrt, 0, 0, 8, 1.0 / 3.0)]     // 1/√9
    public void StalenessFunctions_MatchTheirFormulas(StalenessKind kind, double a, double b, int tau, double expected) =>
        Assert.Equal(expected, new StalenessFunction(kind, a, b).Weight(tau), 12);

    [Fact]
    public void DeltaAccumulator_AveragesEachCoordinateOverTheUpdatesThatTrainedIt()
    {
        var host = new FakeHost(2);
        var model = host.Global.Model;
        var acc = new DeltaAccumulator(model.ParameterCount);
        var all = new TaskSpec(global::Ftte.Engine.TrainableSet.All(model), Local);
        var last = new TaskSpec(global::Ftte.Engine.TrainableSet.LastLayers(model, 1), Local);
        var u1 = Update(host, all, 2f);
        var u2 = Update(host, last, 4f);
        acc.Add(u1, 1, 1);
        acc.Add(u2, 1, 1);
        var w = new float[model.ParameterCount];
        acc.ApplyTo(w, 1.0);
        var lastRanges = last.Trainable.Ranges(model);
        for (int j = 0; j < w.Length; j++)
        {
            bool inLast = lastRanges.Any(r => j >= r.Offset && j < r.End);
            Assert.Equal(inLast ? 3f : 2f, w[j]);
        }
    }

    private static ClientUpdate Update(FakeHost host, TaskSpec spec, float value)
    {
        var ticket = host.Dispatch(0, spec);
        host.Active.Remove(ticket.TaskId);
        var ranges = spec.Trainable.Ranges(host.Global.Model);
        var delta = new float[host.Global.Model.ParameterCount];
        foreach (var r in ranges) Array.Fill(delta, value, r.Offset, r.Length);
        return new ClientUpdate { Task = ticket, Delta = delta, BaseWeights = delta, Ranges = ranges, Samples = 1, ReceivedAt = 0, Staleness = 0 };
    }
}
