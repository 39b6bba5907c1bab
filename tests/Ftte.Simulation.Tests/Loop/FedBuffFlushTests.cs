using Ftte.Federation.Strategies;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>FedBuff steps the server exactly when its buffer holds K updates, never earlier or later.</summary>
public class FedBuffFlushTests
{
    [Fact]
    public void FedBuff_StepsExactlyEveryKAcceptedUpdates()
    {
        const int k = 5;
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(16),
            new SimulationOptions { MaxSeconds = 30, EvalEverySeconds = 1e-9, Workers = 2, Seed = 9 });
        var probe = new ProbeStrategy(new FedBuff(new FedBuffOptions(Concurrency: 8, BufferSize: k), SimulationFixtures.Local));
        var run = sim.Run(probe);
        var s = run.Summary;

        Assert.Equal(0, s.TasksFailed);
        Assert.Equal(0, s.UpdatesStale);
        Assert.Equal(0, s.UpdatesDropped);
        Assert.True(s.UpdatesAccepted >= 4 * k, $"{s.UpdatesAccepted} accepted");
        // Between steps the buffer holds 0..K−1 updates.
        Assert.All(run.Points, p => Assert.InRange(p.UpdatesAccepted - k * p.Version, 0, k - 1));
        // With an evaluation at every commit, each version is first seen with exactly K·version accepted.
        foreach (var first in run.Points.GroupBy(p => p.Version).Select(g => g.First()))
            Assert.Equal(k * first.Version, first.UpdatesAccepted);
        Assert.Equal(s.UpdatesAccepted / k, s.FinalVersion);
        Assert.Equal(probe.Commits, s.FinalVersion);
        // One evaluation per commit (plus the start, plus the end if it is not at a commit).
        Assert.InRange(run.Points.Count, s.FinalVersion + 1, s.FinalVersion + 2);
    }
}
