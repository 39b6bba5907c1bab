using Ftte.Engine;
using Ftte.Engine.Planning;
using Ftte.Federation.Strategies;
using Ftte.Simulation.Clock;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>Task time = latency + bytes·8/downlink + FLOPs/compute + bytes·8/uplink, by hand and end to end.</summary>
public class TimeModelTests
{
    [Fact]
    public void TaskTimes_MatchHandWorkedExample()
    {
        // latency 0.25 s
        // 1,000,000 B down at 8 Mbit/s: 8,000,000 bit / 8,000,000 bit/s = 1 s        → download done at 1.25 s
        // 5·10⁸ FLOP at 10⁸ FLOP/s = 5 s                                              → training done at 6.25 s
        // 500,000 B up at 4 Mbit/s: 4,000,000 bit / 4,000,000 bit/s = 1 s            → upload done at 7.25 s
        var device = SimulationFixtures.Device(0, flops: 1e8, down: 8e6, up: 4e6, latency: 0.25);
        var t = TaskTimes.For(device, bytesDown: 1_000_000, trainingFlops: 5e8, bytesUp: 500_000);
        Assert.Equal(0.25, t.Latency);
        Assert.Equal(1.0, t.Download);
        Assert.Equal(5.0, t.Training);
        Assert.Equal(1.0, t.Upload);
        Assert.Equal(1.25, t.DownloadDone);
        Assert.Equal(6.25, t.TrainingDone);
        Assert.Equal(7.25, t.UploadDone);
        Assert.Equal(7.25, t.Total);
    }

    [Fact]
    public void TaskTimes_SlowLinkDominates()
    {
        // A sensor: 250 kB down at 100 kbit/s = 2,000,000 bit / 100,000 bit/s = 20 s; 2·10⁶ FLOP at 10⁶ FLOP/s = 2 s;
        // 25 kB up at 50 kbit/s = 200,000 bit / 50,000 bit/s = 4 s; latency 1 s. Total 27 s.
        var sensor = SimulationFixtures.Device(0, flops: 1e6, down: 1e5, up: 5e4, latency: 1);
        var t = TaskTimes.For(sensor, 250_000, 2e6, 25_000);
        Assert.Equal(new TaskTimes(1, 20, 2, 4), t);
        Assert.Equal(27, t.Total);
        Assert.Equal(0, TaskTimes.For(sensor, 0, 0, 0).Total - sensor.LatencySeconds);
    }

    [Fact]
    public void FedAvg_OneDevice_EachRoundTakesExactlyTheModelledTaskTime_AndCountsTheSerializedBytes()
    {
        var device = SimulationFixtures.Device(0, flops: 2.5e7, down: 2e6, up: 5e5, latency: 0.3);
        var sim = SimulationFixtures.Create([device],
            new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 3, EvalEverySeconds = 1e-9, Workers = 1 });
        var run = sim.Run(new FedAvg(new FedAvgOptions(DevicesPerRound: 1), SimulationFixtures.Local));

        // The expected task time from the engine's own numbers: the full model travels both ways (trainable = all)
        // and every local sample costs the planner's training FLOPs, for one epoch.
        var model = SimulationFixtures.Mlp();
        long bytes = ParameterSerializer.SerializedSize(model);
        var plan = MemoryPlanner.PlanTraining(model, TrainableSet.All(model), SimulationFixtures.Local.BatchSize, SimulationFixtures.Local.Optimizer);
        int samples = sim.Devices[0].TrainSamples;
        Assert.Equal(SimulationFixtures.DigitsData.Train.Count, samples); // one device holds the whole training set
        double task = 0.3 + bytes * 8.0 / 2e6 + (double)plan.TrainingFlopsPerSample * samples * 1 / 2.5e7 + bytes * 8.0 / 5e5;
        Assert.True(task > 0.3 + 2 * bytes * 8.0 / 2e6, "the numbers are big enough to matter");

        Assert.Equal(3, run.Summary.FinalVersion);
        for (int version = 1; version <= 3; version++)
        {
            // Rounds follow each other without gaps: version k is committed at k task times.
            var p = run.Points.Single(x => x.Version == version && x.UpdatesReceived == version);
            Assert.Equal(version * task, p.Time, 9);
            Assert.Equal(version * bytes, p.BytesDown);
            Assert.Equal(version * bytes, p.BytesUp);
            Assert.Equal(version, p.UpdatesAccepted);
            Assert.Equal(version * task, p.DeviceBusySeconds, 9);
            Assert.Equal(0, p.DeviceIdleSeconds, 9);
        }
        Assert.Equal(bytes, run.Summary.BytesDownPerTask);
        Assert.Equal(bytes, run.Summary.BytesUpPerTask);
        Assert.Equal(plan.PeakBytes, run.Summary.PeakPlannedBytes);
    }
}
