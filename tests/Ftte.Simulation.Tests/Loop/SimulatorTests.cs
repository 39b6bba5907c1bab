using Ftte.Engine.Training;
using Ftte.Federation;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Strategies;
using Ftte.Reporting;
using Ftte.Simulation.Fleet;

namespace Ftte.Simulation.Tests.Loop;

public class SimulatorTests
{
    private static readonly LocalTraining Local = new(1, 16, new SgdOptions { LearningRate = 0.1f }, LearningRateSchedule.Constant);

    private static string Fingerprint(RunResult r) => string.Join("\n", r.Points.Select(p =>
        $"{p.Time:R} {p.Version} {p.TestAccuracy:R} {p.TestLoss:R} {p.UpdatesReceived} {p.UpdatesAccepted} {p.UpdatesDropped} {p.UpdatesStale} " +
        $"{p.TasksFailed} {p.BytesDown} {p.BytesUp} {p.DevicesContributed} {p.DataShareContributed:R} {p.DeviceBusySeconds:R} {p.DeviceIdleSeconds:R} " +
        string.Join(";", p.StalenessHistogram)));

    [Fact]
    public void FedBuff_LearnsDigits_AndTheSameSeedGivesIdenticalMetricsForOneAndTwoWorkers()
    {
        var devices = SimulationFixtures.Uniform(20, dropout: 0.1);
        RunResult RunWith(int workers)
        {
            var sim = SimulationFixtures.Create(devices, new SimulationOptions { MaxSeconds = 120, EvalEverySeconds = 10, Workers = workers, Seed = 5 });
            return sim.Run(new FedBuff(new FedBuffOptions(Concurrency: 8, BufferSize: 4), Local));
        }
        var one = RunWith(1);
        var two = RunWith(2);
        Assert.Equal(Fingerprint(one), Fingerprint(two));
        Assert.True(one.Summary.FinalAccuracy > 0.85, $"FedBuff reached {one.Summary.FinalAccuracy:P1} on digits");
        Assert.True(one.Summary.TasksFailed > 0, "10% dropout should fail some tasks");
        Assert.True(one.Points[^1].StalenessHistogram.Skip(1).Sum() > 0, "asynchronous updates arrive stale");
    }
}
