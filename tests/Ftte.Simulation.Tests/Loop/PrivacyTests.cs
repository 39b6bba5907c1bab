using Ftte.Federation.Privacy;
using Ftte.Federation.Strategies;
using Ftte.Reporting;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>Client-level DP in the simulator: ε at every evaluation, in the summary and metrics.csv; the run ends at ε_max.</summary>
public class PrivacyTests
{
    private static FedBuff DpFedBuff(double? maxEpsilon) => new(new FedBuffOptions(Concurrency: 6, BufferSize: 3,
        Privacy: new ClientDpOptions { NoiseMultiplier = 1.0, ClipNorm = 1.0, BufferSize = 3, MaxEpsilon = maxEpsilon }), SimulationFixtures.Local);

    [Fact]
    public void EpsilonGrowsWithEveryStep_AndIsReported()
    {
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(8), new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 6, Workers = 2, EvalEverySeconds = 0.001 });
        var run = sim.Run(DpFedBuff(maxEpsilon: null));

        var eps = run.Points.Where(p => p.Version > 0).Select(p => p.Epsilon).ToList();
        Assert.NotEmpty(eps);
        Assert.All(eps, e => Assert.True(double.IsFinite(e) && e > 0));
        for (int i = 1; i < eps.Count; i++) Assert.True(eps[i] >= eps[i - 1]);
        Assert.Equal(eps[^1], run.Summary.Epsilon);
        Assert.Contains(run.Summary.Notes, n => n.StartsWith("Client-level DP: ε =", StringComparison.Ordinal));

        var csv = new StringWriter();
        MetricsCsv.Write(csv, [run]);
        Assert.EndsWith(",epsilon", csv.ToString().Split('\n')[0]);
    }

    [Fact]
    public void TheRunStopsAtTheBudget_SayingWhy()
    {
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(8), new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 500, Workers = 2 });
        var run = sim.Run(DpFedBuff(maxEpsilon: 6));
        Assert.True(run.Summary.FinalVersion < 500);
        Assert.True(run.Summary.Epsilon <= 6);
        Assert.Contains(run.Summary.Notes, n => n.Contains("privacy budget") && n.Contains("> 6"));
    }

    [Fact]
    public void WithoutDp_NoEpsilonColumn()
    {
        var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(8), new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 2, Workers = 1 });
        var run = sim.Run(new FedBuff(new FedBuffOptions(Concurrency: 6, BufferSize: 3), SimulationFixtures.Local));
        Assert.Null(run.Summary.Epsilon);
        var csv = new StringWriter();
        MetricsCsv.Write(csv, [run]);
        Assert.DoesNotContain("epsilon", csv.ToString().Split('\n')[0]);
    }
}
