using Ftte.Federation.Privacy.SecAgg;
using Ftte.Federation.Strategies;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>FTTE under secure aggregation in the simulator: masked uploads and protocol messages are what the clock and the byte counts see.</summary>
public class SecureAggregationTests
{
    private static FtteStrategy Ftte(SecureAggregationOptions? secure) => new(new FtteOptions(Concurrency: 6, BufferSize: 4, Trainable: "fc3",
        StragglerFactor: 0, Weighting: FtteWeighting.Age, SecureAggregation: secure, Seed: 3), SimulationFixtures.Local);

    private static Ftte.Reporting.RunResult Run(SecureAggregationOptions? secure) =>
        SimulationFixtures.Create(SimulationFixtures.Uniform(8), new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 4, Workers = 2 })
            .Run(Ftte(secure));

    [Fact]
    public void UploadsAreMaskedWordsAndTheProtocolsMessagesAreCounted_Deterministically()
    {
        var wide = new SecureAggregationOptions { GroupSize = 6 };
        var narrow = new SecureAggregationOptions { GroupSize = 6, RingBits = 16, ValueBits = 8, ValueRange = 0.5 };
        var run32 = Run(wide);
        var run16 = Run(narrow);
        var again = Run(narrow);

        foreach (var (run, bytesPerValue) in new[] { (run32, 4), (run16, 2) })
        {
            Assert.Equal(4, run.Summary.FinalVersion);
            Assert.Contains(run.Summary.Notes, n => n.StartsWith("Secure aggregation: groups of G = 6", StringComparison.Ordinal) && n.Contains("4 group(s) applied"));
            // fc3 of the 64-input MLP: 64·10 + 10 = 650 trained values, masked at 4 or 2 bytes each plus a 16-byte
            // header; the key exchange's and unmasking's messages come on top.
            long masked = 16 + 650L * bytesPerValue;
            long delivered = run.Summary.UpdatesAccepted + run.Summary.UpdatesDropped;
            Assert.True(run.Summary.BytesUp > delivered * masked, $"{run.Summary.BytesUp} bytes up for {delivered} masked uploads of {masked}");
            Assert.True(run.Summary.FinalAccuracy > 0.3, $"accuracy {run.Summary.FinalAccuracy} after 4 secure steps");
        }
        Assert.True(run16.Summary.BytesUp < run32.Summary.BytesUp);
        Assert.Equal(run16.Summary.BytesUp, again.Summary.BytesUp);
        Assert.Equal(run16.Summary.FinalAccuracy, again.Summary.FinalAccuracy);
    }
}
