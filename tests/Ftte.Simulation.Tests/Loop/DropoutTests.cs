using Ftte.Federation;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>A task that fails delivers nothing: the global model only ever moves by accepted updates.</summary>
public class DropoutTests
{
    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedasync")]
    [InlineData("fedbuff")]
    public void EveryTaskDroppingOut_LeavesTheInitialModelUntouched(string kind)
    {
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(8, dropout: 1.0),
            new SimulationOptions { MaxSeconds = 30, EvalEverySeconds = 5, Workers = 2, Seed = 3 });
        var probe = new ProbeStrategy(SimulationFixtures.Baseline(kind));
        var run = sim.Run(probe);

        Assert.True(run.Summary.TasksFailed > 10, $"{run.Summary.TasksFailed} failed tasks");
        Assert.All(probe.Failures, f => Assert.Equal(FailureReason.Dropout, f.Reason));
        Assert.Equal(0, run.Summary.UpdatesAccepted);
        Assert.Equal(0, run.Points[^1].UpdatesReceived);
        Assert.Equal(0, run.Summary.BytesUp);
        Assert.Equal(0, run.Summary.FinalVersion);
        Assert.Equal(0, probe.Commits);
        Assert.All(run.Points, p => Assert.Equal(0, p.Version));
        Assert.Equal(run.Points[0].TestAccuracy, run.Summary.FinalAccuracy);
        Assert.Equal(run.Points[0].TestLoss, run.Points[^1].TestLoss);
        Assert.Equal(SimulationFixtures.Mlp().Weights.ToArray(), probe.Host.Global.Weights.ToArray());
        Assert.Equal(30, run.Summary.EndTime);
    }

    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedasync")]
    [InlineData("fedbuff")]
    public void HalfTheTasksDroppingOut_KeepsTheModelFinite_AndTheCountsConsistent(string kind)
    {
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(12, dropout: 0.5),
            new SimulationOptions { MaxSeconds = 60, EvalEverySeconds = 5, Workers = 2, Seed = 4 });
        var probe = new ProbeStrategy(SimulationFixtures.Baseline(kind));
        var run = sim.Run(probe);
        var s = run.Summary;
        var last = run.Points[^1];

        Assert.True(s.TasksFailed > 0, "half the tasks should drop out");
        Assert.Contains(probe.Failures, f => f.Reason == FailureReason.Dropout);
        Assert.True(s.UpdatesAccepted > 0, "the other half should arrive");
        Assert.All(probe.Host.Global.Weights.ToArray(), w => Assert.True(float.IsFinite(w)));
        Assert.All(run.Points, p => Assert.True(double.IsFinite(p.TestLoss)));
        Assert.True(s.FinalAccuracy > run.Points[0].TestAccuracy + 0.2, $"{run.Points[0].TestAccuracy:P1} → {s.FinalAccuracy:P1}");

        // Every server step is a commit, and versions only move by commits.
        Assert.Equal(probe.Commits, s.FinalVersion);
        Assert.True(s.FinalVersion > 0);
        // Every update received got exactly one verdict; every task dispatched delivered, failed or is still in flight.
        Assert.Equal(last.UpdatesReceived, s.UpdatesAccepted + s.UpdatesDropped + s.UpdatesStale);
        Assert.Equal(probe.Dispatches.Count, s.Tasks);
        Assert.Equal(s.Tasks, last.UpdatesReceived + s.TasksFailed + probe.Host.InFlight);
        // Failed tasks are those reported to the strategy plus those it cancelled (FedAvg's deadline and surplus).
        Assert.Equal(probe.Failures.Count + probe.Cancels, s.TasksFailed);
        if (kind == "fedavg") Assert.True(probe.Cancels > 0, "over-selection leaves surplus tasks to cancel");
        // Counters never go backwards.
        for (int i = 1; i < run.Points.Count; i++)
        {
            Assert.True(run.Points[i].Version >= run.Points[i - 1].Version);
            Assert.True(run.Points[i].UpdatesReceived >= run.Points[i - 1].UpdatesReceived);
            Assert.True(run.Points[i].TasksFailed >= run.Points[i - 1].TasksFailed);
            Assert.True(run.Points[i].BytesDown >= run.Points[i - 1].BytesDown);
        }
    }
}
