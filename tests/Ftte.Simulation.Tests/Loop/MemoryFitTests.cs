using Ftte.Federation;
using Ftte.Simulation.Fleet;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>A device only trains when the task's planned peak fits its memory, unless the check is switched off.</summary>
public class MemoryFitTests
{
    // Four 64 KiB sensors (the MLP's full training plan needs far more) among eight 64 MiB phones.
    private static readonly DeviceProfile[] Mixed = [.. Enumerable.Range(0, 12)
        .Select(i => SimulationFixtures.Device(i, tier: i % 3 == 0 ? "sensor" : "phone", memory: i % 3 == 0 ? 64 << 10 : 64L << 20))];

    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedasync")]
    [InlineData("fedbuff")]
    public void DevicesThatCannotFit_AreNeverDispatchedTo(string kind)
    {
        var sim = SimulationFixtures.Create(Mixed, new SimulationOptions { MaxSeconds = 20, Workers = 2 });
        var probe = new ProbeStrategy(SimulationFixtures.Baseline(kind));
        var run = sim.Run(probe);

        Assert.Equal(4, run.Summary.DevicesExcluded);
        Assert.All(probe.Dispatches, d => Assert.Equal("phone", sim.Devices[d.Device].Tier));
        Assert.Equal(0, run.Summary.Tiers.Single(t => t.Tier == "sensor").Tasks);
        Assert.Equal(0, run.Summary.Tiers.Single(t => t.Tier == "sensor").DevicesContributed);
        Assert.True(run.Summary.Tiers.Single(t => t.Tier == "phone").Tasks > 0);
        Assert.DoesNotContain(probe.Failures, f => f.Reason == FailureReason.Refused);
        Assert.True(run.Summary.DataShareContributed < 0.7, "the sensors' third of the data never contributes");
    }

    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedasync")]
    [InlineData("fedbuff")]
    public void IgnoringMemory_LetsEveryDeviceTrain(string kind)
    {
        var sim = SimulationFixtures.Create(Mixed, new SimulationOptions { MaxSeconds = 20, Workers = 2, IgnoreMemory = true });
        var run = sim.Run(SimulationFixtures.Baseline(kind, ignoreMemory: true));

        Assert.Equal(0, run.Summary.DevicesExcluded);
        Assert.True(run.Summary.Tiers.Single(t => t.Tier == "sensor").Tasks > 0);
        Assert.True(run.Summary.Tiers.Single(t => t.Tier == "sensor").DevicesContributed > 0);
        Assert.Contains(run.Summary.Notes, n => n.Contains("Memory check off", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedasync")]
    [InlineData("fedbuff")]
    public void NoDeviceFitting_IsAnErrorThatSaysSo(string kind)
    {
        var sensors = Enumerable.Range(0, 4).Select(i => SimulationFixtures.Device(i, tier: "sensor", memory: 64 << 10)).ToArray();
        var sim = SimulationFixtures.Create(sensors, new SimulationOptions { MaxSeconds = 20, Workers = 1 });
        var e = Assert.Throws<InvalidOperationException>(() => sim.Run(SimulationFixtures.Baseline(kind)));
        Assert.Contains("no device can hold", e.Message, StringComparison.Ordinal);
        Assert.Contains("ignoreMemory", e.Message, StringComparison.Ordinal);
    }
}
