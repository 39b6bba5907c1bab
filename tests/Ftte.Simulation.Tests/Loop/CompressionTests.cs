using Ftte.Engine;
using Ftte.Federation;
using Ftte.Federation.Compression;
using Ftte.Federation.Strategies;
using Ftte.Reporting;
using Ftte.Simulation.Fleet;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>Update codecs in the loop: uploads cost the encoded bytes, strategies merge what the server decodes, runs replay.</summary>
public class CompressionTests
{
    /// <summary>Passes everything to the inner strategy and keeps a copy of each update it is offered.</summary>
    private sealed class Recorder(Strategy inner) : Strategy
    {
        public List<(int Device, float[] Delta, WeightRange[] Ranges)> Updates { get; } = [];
        public override string Name => inner.Name;

        public override void Start(IFederationHost host)
        {
            inner.Start(host);
            Participation = inner.Participation;
        }

        public override void OnDevicesAvailable(IFederationHost host) => inner.OnDevicesAvailable(host);
        public override void OnTaskFailed(IFederationHost host, TaskFailure failure) => inner.OnTaskFailed(host, failure);
        public override void OnTimer(IFederationHost host, int tag) => inner.OnTimer(host, tag);

        public override UpdateVerdict OnUpdate(IFederationHost host, ClientUpdate update)
        {
            Updates.Add((update.DeviceId, (float[])update.Delta.Clone(), update.Ranges));
            return inner.OnUpdate(host, update);
        }
    }

    private static FedBuff FedBuff() => new(new FedBuffOptions(Concurrency: 6, BufferSize: 3), SimulationFixtures.Local);

    private static long Upload(TrainableSet subset, Model model, UpdateCodec codec)
    {
        int trained = subset.CountTrained(model);
        return ParameterSerializer.SerializedSize(model, subset) - 4L * trained + codec.EncodedSize(trained);
    }

    [Fact]
    public void TheStrategyReceives_WhatTheServerDecodes()
    {
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(8), new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 4, Workers = 2 });
        var recorder = new Recorder(FedBuff());

        sim.Run(recorder, compression: new CodecPolicy(StochasticQuantizer.Q2));

        // 2 bits: every trained coordinate is −m, 0 or +m of its block of 256 (the gathered trained coordinates).
        Assert.NotEmpty(recorder.Updates);
        foreach (var (_, delta, ranges) in recorder.Updates)
        {
            var sent = new float[UpdateCompression.CountOf(ranges)];
            UpdateCompression.Gather(delta, ranges, sent);
            for (int start = 0; start < sent.Length; start += 256)
            {
                var magnitudes = sent.Skip(start).Take(256).Select(MathF.Abs).Distinct().ToList();
                Assert.True(magnitudes.Count <= 2 && (magnitudes.Count < 2 || magnitudes.Contains(0f)), $"block at {start} has levels {string.Join(", ", magnitudes)}");
            }
        }
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("q8")]
    [InlineData("q2")]
    [InlineData("topk:0.05")]
    public void UploadBytes_AreTheCodecsEncodedSize_PlusTheTensorHeaders_AndDownloadsAreUnchanged(string name)
    {
        var codec = UpdateCodec.Parse(name);
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(4), new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 5, Workers = 2 });
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 4, BufferSize: 4, Trainable: "fc2=0.5,fc3", StragglerFactor: 0), SimulationFixtures.Local);

        var run = sim.Run(ftte, compression: new CodecPolicy(codec)).Summary;

        var model = SimulationFixtures.Mlp();
        var subset = TrainableSet.Parse(model, "fc2=0.5,fc3");
        long received = run.UpdatesAccepted + run.UpdatesDropped + run.UpdatesStale;
        Assert.Equal(received * Upload(subset, model, codec), run.BytesUp);
        // Partial broadcast is untouched: the frozen part once per device, then the trainable part per task.
        long full = ParameterSerializer.SerializedSize(model), trainable = ParameterSerializer.SerializedSize(model, subset);
        Assert.Equal(4 * (full - trainable), run.BytesDownFirstContact);
        Assert.Equal(0, (run.BytesDown - run.BytesDownFirstContact) % trainable);
    }

    [Fact]
    public void TopKsResidual_CountsTowardTheTasksMemory_SoADeviceWithRoomOnlyForThePlanRefusesIt()
    {
        var model = SimulationFixtures.Mlp();
        var subset = TrainableSet.Parse(model, "fc2=0.5,fc3");
        long plan = Ftte.Engine.Planning.MemoryPlanner.PlanTraining(model, subset, SimulationFixtures.Local.BatchSize, SimulationFixtures.Local.Optimizer).PeakBytes;
        long residual = UpdateCodec.Parse("topk:0.05").ResidentBytes(Ftte.Federation.Compression.UpdateCompression.CountOf(subset.Ranges(model)));
        Assert.True(residual > 0);
        // Room for the plan and half the residual.
        DeviceProfile[] devices = [.. Enumerable.Range(0, 4).Select(i => SimulationFixtures.Device(i, memory: plan + residual / 2))];

        RunResult Run(string codec, out ProbeStrategy probe)
        {
            var sim = SimulationFixtures.Create(devices, new SimulationOptions { MaxSeconds = 30, MaxVersions = 2, Workers = 1 });
            probe = new ProbeStrategy(new FtteStrategy(new FtteOptions(Concurrency: 4, BufferSize: 4, Trainable: "fc2=0.5,fc3", StragglerFactor: 0), SimulationFixtures.Local));
            return sim.Run(probe, compression: new CodecPolicy(UpdateCodec.Parse(codec)));
        }

        var topk = Run("topk:0.05", out var refused);
        Assert.Equal(0, topk.Summary.UpdatesAccepted);
        Assert.Contains(refused.Failures, f => f.Reason == FailureReason.Refused && f.Detail!.Contains("residual"));
        Assert.Equal(plan + residual, topk.Summary.PeakPlannedBytes);
        var q8 = Run("q8", out _);
        Assert.True(q8.Summary.UpdatesAccepted > 0, "q8 keeps no residual, so the same devices train");
    }

    [Fact]
    public void EachTier_PaysForItsOwnCodec()
    {
        DeviceProfile[] devices = [.. Enumerable.Range(0, 8).Select(i => SimulationFixtures.Device(i, tier: i % 2 == 0 ? "sensor" : "phone", flops: 1e8 * (1 + i % 3)))];
        var sim = SimulationFixtures.Create(devices, new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 4, Workers = 2 });
        var policy = CodecPolicy.Parse("float16", new Dictionary<string, string> { ["sensor"] = "q2" });
        var recorder = new Recorder(FedBuff());

        var run = sim.Run(recorder, compression: policy).Summary;

        var model = SimulationFixtures.Mlp();
        var all = TrainableSet.Parse(model, "all");
        long expected = recorder.Updates.Sum(u => Upload(all, model, policy.For(devices[u.Device].Tier)));
        Assert.Contains(recorder.Updates, u => u.Device % 2 == 0);
        Assert.Contains(recorder.Updates, u => u.Device % 2 == 1);
        Assert.Equal(expected, run.BytesUp);
    }

    // Two tiers, slow devices on Markov windows that drop out: failures, cancellations and staleness all happen.
    private static readonly DeviceFleet Fleet = FleetGenerator.Generate(new FleetSpec(
    [
        new TierSpec("slow", 0.5, Spread.Fixed(64 << 20), new Spread(5e7, 0.3), new Spread(5e5, 0.3), new Spread(2.5e5, 0.3),
            Spread.Fixed(0.2), Availability.Markov(meanOnSeconds: 20, meanOffSeconds: 10), DropoutProbability: 0.15),
        new TierSpec("fast", 0.5, Spread.Fixed(64 << 20), new Spread(2e8, 0.3), new Spread(4e6, 0.3), new Spread(2e6, 0.3),
            Spread.Fixed(0.05), Availability.Always, DropoutProbability: 0.05),
    ]), devices: 16, seed: 11);

    private static string Compare(int workers, CodecPolicy? policy)
    {
        var sim = SimulationFixtures.Create(Fleet.Devices, new SimulationOptions { MaxSeconds = 20, EvalEverySeconds = 2, Workers = workers, Seed = 5 });
        var runs = new[] { "fedavg", "fedasync", "fedbuff" }.Select(kind => sim.Run(SimulationFixtures.Baseline(kind, 5), compression: policy)).ToList();
        var writer = new StringWriter();
        MetricsCsv.Write(writer, runs);
        return writer.ToString();
    }

    [Fact]
    public void StochasticCodecsAndErrorFeedback_GiveByteIdenticalMetrics_ForOneAndTwoWorkers()
    {
        // Stochastic rounding for the fast tier, top-k with a device residual for the slow one.
        var policy = CodecPolicy.Parse("q4", new Dictionary<string, string> { ["slow"] = "topk:0.1" });

        string one = Compare(workers: 1, policy);
        string two = Compare(workers: 2, policy);

        Assert.Equal(one, two);
        Assert.NotEqual(Compare(workers: 2, policy: null), one);
    }

    [Theory]
    [InlineData("q8")]
    [InlineData("q4")]
    [InlineData("topk:0.1")]
    public void FedBuff_StillLearnsDigits_ThroughALossyCodec(string codec)
    {
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(20), new SimulationOptions { MaxSeconds = 120, EvalEverySeconds = 10, Workers = 2, Seed = 5 });

        var run = sim.Run(new FedBuff(new FedBuffOptions(Concurrency: 8, BufferSize: 4), SimulationFixtures.Local), compression: new CodecPolicy(UpdateCodec.Parse(codec)));

        Assert.True(run.Summary.FinalAccuracy > 0.85, $"FedBuff with {codec} reached {run.Summary.FinalAccuracy:P1} on digits");
    }
}
