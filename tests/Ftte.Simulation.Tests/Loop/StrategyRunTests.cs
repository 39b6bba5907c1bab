using Ftte.Core;
using Ftte.Data;
using Ftte.Engine;
using Ftte.Engine.Training;
using Ftte.Federation;
using Ftte.Federation.Strategies;
using Ftte.Reporting;
using Ftte.Simulation.Fleet;
using Xunit.Abstractions;

namespace Ftte.Simulation.Tests.Loop;

public class StrategyRunTests(ITestOutputHelper output)
{
    private static readonly LocalTraining Local = new(1, 16, new SgdOptions { LearningRate = 0.1f }, LearningRateSchedule.Constant);

    private void Print(RunResult r)
    {
        var s = r.Summary;
        output.WriteLine($"{s.Strategy}: final {s.FinalAccuracy:P2} best {s.BestAccuracy:P2} v{s.FinalVersion} tasks {s.Tasks} accepted {s.UpdatesAccepted} " +
                         $"dropped {s.UpdatesDropped} stale {s.UpdatesStale} failed {s.TasksFailed} down {s.BytesDown} up {s.BytesUp} end {s.EndTime:F1}s " +
                         $"excluded {s.DevicesExcluded} contributed {s.DevicesContributed} wall {s.WallSeconds:F2}s overhead {s.OverheadShare:P1}");
        foreach (var n in s.Notes) output.WriteLine("  note: " + n);
    }

    [Fact]
    public void FedAvg_Iid_ApproachesCentralisedAccuracy()
    {
        // Centralised: the same model, data and local settings, trained on all training data at once.
        var data = SimulationFixtures.DigitsData;
        var central = SimulationFixtures.Mlp();
        var session = new TrainingSession(central, TrainableSet.All(central), 16, Local.Optimizer);
        LocalTrainer.Train(session, data.Train, 20, new Rng(1));
        double centralAccuracy = new Evaluator(central).Evaluate(data.Test).Accuracy;

        // FedAvg over 10 IID devices, all of them every round. Averaging ten 1-epoch deltas moves the model about
        // as far as one epoch on a tenth of the data, so it gets more rounds (Stich 2019: local SGD matches
        // mini-batch SGD on IID data up to a constant).
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(10), new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 80, Workers = 2 });
        var run = sim.Run(new FedAvg(new FedAvgOptions(DevicesPerRound: 10), Local));
        Print(run);
        output.WriteLine($"centralised: {centralAccuracy:P2}");
        Assert.Equal(80, run.Summary.FinalVersion);
        Assert.True(run.Summary.FinalAccuracy >= centralAccuracy - 0.02,
            $"FedAvg IID {run.Summary.FinalAccuracy:P2} vs centralised {centralAccuracy:P2}");
    }

    [Fact]
    public void FedAvg_LeavesOutDevicesThatCannotFitTheModel_AndReportsTheirData()
    {
        var devices = Enumerable.Range(0, 12).Select(i => SimulationFixtures.Device(i, tier: i < 4 ? "sensor" : "phone", memory: i < 4 ? 64 << 10 : 64L << 20)).ToArray();
        var sim = SimulationFixtures.Create(devices, new SimulationOptions { MaxSeconds = 60, Workers = 2 });
        var run = sim.Run(new FedAvg(new FedAvgOptions(DevicesPerRound: 4), Local));
        Print(run);
        Assert.Equal(4, run.Summary.DevicesExcluded);
        Assert.InRange(run.Summary.DataShareExcluded, 0.3, 0.37);
        Assert.Equal(0, run.Summary.Tiers.Single(t => t.Tier == "sensor").Tasks);
        Assert.Contains(run.Summary.Notes, n => n.Contains("left out"));

        var ignoring = SimulationFixtures.Create(devices, new SimulationOptions { MaxSeconds = 60, Workers = 2, IgnoreMemory = true })
            .Run(new FedAvg(new FedAvgOptions(DevicesPerRound: 4, IgnoreMemory: true), Local));
        Print(ignoring);
        Assert.Equal(0, ignoring.Summary.DevicesExcluded);
        Assert.True(ignoring.Summary.Tiers.Single(t => t.Tier == "sensor").Tasks > 0);
    }
}
