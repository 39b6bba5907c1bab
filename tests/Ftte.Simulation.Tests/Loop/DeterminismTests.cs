using Ftte.Reporting;
using Ftte.Simulation.Fleet;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>A run is a pure function of its setup and seed: the number of worker threads never shows in metrics.csv.</summary>
public class DeterminismTests
{
    // Two tiers with spread inside each: slow devices on Markov windows that drop out often, fast ones always on.
    private static readonly FleetSpec Spec = new(
    [
        new TierSpec("slow", 0.5, Spread.Fixed(64 << 20), new Spread(5e7, 0.3), new Spread(5e5, 0.3), new Spread(2.5e5, 0.3),
            Spread.Fixed(0.2), Availability.Markov(meanOnSeconds: 20, meanOffSeconds: 10), DropoutProbability: 0.15),
        new TierSpec("fast", 0.5, Spread.Fixed(64 << 20), new Spread(2e8, 0.3), new Spread(4e6, 0.3), new Spread(2e6, 0.3),
            Spread.Fixed(0.05), Availability.Always, DropoutProbability: 0.05),
    ]);

    private static readonly DeviceFleet SmallFleet = FleetGenerator.Generate(Spec, devices: 16, seed: 11);

    /// <summary>FedAvg (deadline + over-selection), FedAsync and FedBuff on the same fleet; metrics.csv as a string.</summary>
    private static (string Csv, IReadOnlyList<RunResult> Runs) Compare(int workers, ulong seed)
    {
        var sim = SimulationFixtures.Create(SmallFleet.Devices,
            new SimulationOptions { MaxSeconds = 20, EvalEverySeconds = 2, Workers = workers, Seed = seed });
        var runs = new[] { "fedavg", "fedasync", "fedbuff" }.Select(kind => sim.Run(SimulationFixtures.Baseline(kind, seed))).ToList();
        var writer = new StringWriter();
        MetricsCsv.Write(writer, runs);
        return (writer.ToString(), runs);
    }

    [Fact]
    public void SameSeed_GivesByteIdenticalMetricsCsv_ForOneAndTwoWorkers_AndAnotherSeedDoesNot()
    {
        var (one, runs) = Compare(workers: 1, seed: 5);
        var (two, _) = Compare(workers: 2, seed: 5);
        var (other, _) = Compare(workers: 2, seed: 6);

        // The comparison exercises what could make it nondeterministic: failures of both kinds, cancellations, staleness.
        foreach (var run in runs)
        {
            Assert.True(run.Summary.UpdatesAccepted > 0, $"{run.Strategy} accepted no update");
            Assert.True(run.Summary.TasksFailed > 0, $"{run.Strategy} had no failed task");
        }
        Assert.Contains(runs, r => r.Points[^1].StalenessHistogram.Skip(1).Sum() > 0);
        Assert.DoesNotContain("wall", one.Split('\n')[0]);

        Assert.Equal(one, two);
        Assert.NotEqual(one, other);
    }
}
