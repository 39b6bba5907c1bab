namespace Ftte.Simulation.Tests.Fleet;

using Ftte.Simulation.Fleet;

public sealed class FleetPresetsTests
{
    private const double MiB = 1024 * 1024;
    // The reference workload the presets are sized for: LeNet on MNIST, batch 16, SGD.
    private const double FullLeNetTrainingBytes = 1.79 * MiB;
    private const double LeNetFlopsPerSample = 1.94e6;
    private const double LeNetModelBits = 61_706 * 32;

    public static TheoryData<string> Names => [.. FleetPresets.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void Get_EveryPreset_ValidAndGenerates(string name)
    {
        FleetSpec spec = FleetPresets.Get(name);

        spec.Validate();
        var fleet = FleetPresets.Create(name, 500, seed: 1);
        Assert.Equal(500, fleet.Count);
        Assert.Equal(spec.Tiers.Select(t => t.Name).Order(), fleet.Tiers.Order());
    }

    [Fact]
    public void Get_UnknownName_ListsKnownNames()
    {
        var e = Assert.Throws<ArgumentException>(() => FleetPresets.Get("tiers5"));

        Assert.Contains("'tiers5'", e.Message);
        foreach (string name in FleetPresets.Names) Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Get_CaseInsensitive()
    {
        Assert.Equal(FleetPresets.Get("tiers4"), FleetPresets.Get("TIERS4"), FleetSpecComparer);
    }

    private static readonly IEqualityComparer<FleetSpec> FleetSpecComparer =
        EqualityComparer<FleetSpec>.Create((a, b) => a!.Tiers.SequenceEqual(b!.Tiers));

    [Fact]
    public void Stragglers90_500Devices_450Stragglers()
    {
        var fleet = FleetPresets.Create("stragglers-90", 500, seed: 2);

        Assert.Equal(450, fleet.CountInTier("straggler"));
        Assert.Equal(50, fleet.CountInTier("fast"));
    }

    [Fact]
    public void Stragglers90_MostStragglersCannotHoldFullLeNetTraining_FastOnesCan()
    {
        var fleet = FleetPresets.Create("stragglers-90", 500, seed: 3);

        var stragglers = fleet.Devices.Where(d => d.Tier == "straggler").ToList();
        double fitting = stragglers.Count(d => d.MemoryBytes >= FullLeNetTrainingBytes) / (double)stragglers.Count;
        Assert.InRange(fitting, 0.05, 0.35);
        Assert.All(fleet.Devices.Where(d => d.Tier == "fast"), d => Assert.True(d.MemoryBytes > 100 * MiB));
    }

    [Fact]
    public void Stragglers90_FullModelRound_DominatedByStragglers()
    {
        var fleet = FleetPresets.Create("stragglers-90", 500, seed: 4);
        const int samples = 120; // 60,000 MNIST samples over 500 devices, one local epoch

        double RoundSeconds(DeviceProfile d) =>
            2 * d.LatencySeconds + LeNetModelBits / d.DownlinkBitsPerSecond
            + samples * LeNetFlopsPerSample / d.FlopsPerSecond + LeNetModelBits / d.UplinkBitsPerSecond;

        double slowestFast = fleet.Devices.Where(d => d.Tier == "fast").Max(RoundSeconds);
        double slowestStraggler = fleet.Devices.Where(d => d.Tier == "straggler").Max(RoundSeconds);
        double medianStraggler = fleet.Devices.Where(d => d.Tier == "straggler").Select(RoundSeconds).Order().ElementAt(225);

        Assert.True(slowestFast < 5, $"slowest fast device: {slowestFast:F1} s");
        Assert.InRange(medianStraggler, 20, 120);
        Assert.True(slowestStraggler > 120, $"slowest straggler: {slowestStraggler:F1} s");
    }

    [Fact]
    public void Tiers4_SensorsCannotHoldFullLeNetTraining_PhonesCan()
    {
        var fleet = FleetPresets.Create("tiers4", 2000, seed: 5);

        Assert.All(fleet.Devices.Where(d => d.Tier == "sensor"), d => Assert.True(d.MemoryBytes < FullLeNetTrainingBytes));
        Assert.All(fleet.Devices.Where(d => d.Tier.StartsWith("phone", StringComparison.Ordinal)),
            d => Assert.True(d.MemoryBytes >= 16 * MiB));
        Assert.Equal([600, 400, 600, 400], fleet.Tiers.Select(fleet.CountInTier).ToArray());
    }

    [Fact]
    public void Uniform_AllDevicesIdentical()
    {
        var fleet = FleetPresets.Create("uniform", 50, seed: 6);

        Assert.Single(fleet.Devices.Select(d => d with { Id = 0 }).Distinct());
    }
}
