namespace Ftte.Simulation.Tests.Fleet;

using Ftte.Simulation.Fleet;

public sealed class FleetGeneratorTests
{
    private const double MiB = 1024 * 1024;

    internal static TierSpec Tier(string name, double share, double memoryMiB = 4, double sigma = 0.5) => new(
        name, share,
        MemoryBytes: new Spread(memoryMiB * MiB, sigma, Min: memoryMiB * MiB / 2, Max: memoryMiB * MiB * 2),
        FlopsPerSecond: new Spread(1e8, sigma),
        DownlinkBitsPerSecond: new Spread(1e6, sigma),
        UplinkBitsPerSecond: new Spread(5e5, sigma),
        LatencySeconds: new Spread(0.1, sigma, Min: 0.05, Max: 0.2),
        Availability: Availability.Markov(100, 50),
        DropoutProbability: 0.05);

    private static readonly FleetSpec ThreeTiers = new([Tier("a", 0.5), Tier("b", 0.3), Tier("c", 0.2)]);

    [Fact]
    public void Generate_SameSeed_SameDevices()
    {
        DeviceFleet first = FleetGenerator.Generate(ThreeTiers, 300, seed: 42);
        DeviceFleet second = FleetGenerator.Generate(ThreeTiers, 300, seed: 42);

        Assert.Equal(first.Devices, second.Devices);
    }

    [Fact]
    public void Generate_DifferentSeeds_DifferentDevices()
    {
        var first = FleetGenerator.Generate(ThreeTiers, 300, seed: 1);
        var second = FleetGenerator.Generate(ThreeTiers, 300, seed: 2);

        Assert.NotEqual(first.Devices, second.Devices);
        Assert.NotEqual(first.Devices.Select(d => d.Tier), second.Devices.Select(d => d.Tier));
    }

    [Fact]
    public void Generate_Ids_DenseAndOrdered()
    {
        var fleet = FleetGenerator.Generate(ThreeTiers, 97, seed: 3);

        Assert.Equal(97, fleet.Count);
        Assert.Equal(Enumerable.Range(0, 97), fleet.Devices.Select(d => d.Id));
    }

    [Theory]
    [InlineData(10, new[] { 5, 3, 2 })]
    [InlineData(7, new[] { 4, 2, 1 })]   // quotas 3.5, 2.1, 1.4: the spare device goes to the largest remainder
    [InlineData(1, new[] { 1, 0, 0 })]
    [InlineData(1001, new[] { 501, 300, 200 })]
    public void TierCounts_LargestRemainder(int devices, int[] expected)
    {
        Assert.Equal(expected, FleetGenerator.TierCounts(ThreeTiers, devices));
    }

    [Fact]
    public void TierCounts_EqualRemainders_EarlierTierFirst()
    {
        var spec = new FleetSpec([Tier("a", 1 / 3.0), Tier("b", 1 / 3.0), Tier("c", 1 / 3.0)]);

        Assert.Equal([4, 3, 3], FleetGenerator.TierCounts(spec, 10));
        Assert.Equal([34, 33, 33], FleetGenerator.TierCounts(spec, 100));
    }

    [Fact]
    public void Generate_DevicesPerTier_MatchTierCounts()
    {
        var fleet = FleetGenerator.Generate(ThreeTiers, 1001, seed: 4);

        Assert.Equal(["a", "b", "c"], fleet.Tiers.Order());
        Assert.Equal(501, fleet.CountInTier("a"));
        Assert.Equal(300, fleet.CountInTier("b"));
        Assert.Equal(200, fleet.CountInTier("c"));
        // Tiers are shuffled over ids, not laid out in blocks.
        Assert.Contains(fleet.Devices.Take(50), d => d.Tier == "c");
    }

    [Fact]
    public void Generate_Values_WithinSpreadBounds()
    {
        var fleet = FleetGenerator.Generate(ThreeTiers, 2000, seed: 5);

        foreach (DeviceProfile d in fleet.Devices)
        {
            TierSpec t = ThreeTiers.Tiers.Single(x => x.Name == d.Tier);
            Assert.InRange(d.MemoryBytes, Math.Floor(t.MemoryBytes.Lower), Math.Ceiling(t.MemoryBytes.Upper));
            Assert.InRange(d.FlopsPerSecond, t.FlopsPerSecond.Lower, t.FlopsPerSecond.Upper);
            Assert.InRange(d.DownlinkBitsPerSecond, t.DownlinkBitsPerSecond.Lower, t.DownlinkBitsPerSecond.Upper);
            Assert.InRange(d.UplinkBitsPerSecond, t.UplinkBitsPerSecond.Lower, t.UplinkBitsPerSecond.Upper);
            Assert.InRange(d.LatencySeconds, 0.05, 0.2);
            Assert.Equal(t.Availability, d.Availability);
            Assert.Equal(t.DropoutProbability, d.DropoutProbability);
        }
    }

    [Fact]
    public void Generate_LogNormalSpread_MedianAndSpreadAsSpecified()
    {
        var fleet = FleetGenerator.Generate(new FleetSpec([Tier("only", 1, sigma: 0.5)]), 4000, seed: 6);

        double[] logs = fleet.Devices.Select(d => Math.Log(d.FlopsPerSecond)).Order().ToArray();
        double median = Math.Exp(logs[logs.Length / 2]);
        double mean = logs.Average();
        double sigma = Math.Sqrt(logs.Select(x => (x - mean) * (x - mean)).Average());

        Assert.InRange(median / 1e8, 0.95, 1.05);
        Assert.InRange(sigma, 0.47, 0.53); // clipping at ±3σ trims almost nothing
    }

    [Fact]
    public void Generate_ZeroSigma_EveryDeviceGetsTheMedian()
    {
        var fleet = FleetGenerator.Generate(new FleetSpec([Tier("only", 1, memoryMiB: 3, sigma: 0)]), 20, seed: 7);

        Assert.All(fleet.Devices, d =>
        {
            Assert.Equal((long)(3 * MiB), d.MemoryBytes);
            Assert.Equal(1e8, d.FlopsPerSecond);
        });
    }

    [Fact]
    public void Generate_SharesNormalised_CloseToOneAccepted()
    {
        var spec = new FleetSpec([Tier("a", 0.333), Tier("b", 0.333), Tier("c", 0.333)]);

        var fleet = FleetGenerator.Generate(spec, 9, seed: 1);

        Assert.Equal(3, fleet.CountInTier("a"));
    }

    public static TheoryData<FleetSpec, string[]> InvalidSpecs => new()
    {
        { new FleetSpec([Tier("a", 0), Tier("b", 1)]), ["tier 'a'", "Share"] },
        { new FleetSpec([Tier("a", 0.5), Tier("b", 1)]), ["sum to 1.5", "a: 0.5", "b: 1"] },
        { new FleetSpec([Tier("a", 0.5), Tier("a", 0.5)]), ["'a'", "twice"] },
        { new FleetSpec([Tier("a", 1) with { FlopsPerSecond = new Spread(-5) }]), ["tier 'a'", "FlopsPerSecond", "median"] },
        { new FleetSpec([Tier("a", 1) with { LatencySeconds = new Spread(0.1, -1) }]), ["tier 'a'", "LatencySeconds", "sigma"] },
        { new FleetSpec([Tier("a", 1) with { UplinkBitsPerSecond = new Spread(1e6, 0.5, Max: 10) }]), ["tier 'a'", "UplinkBitsPerSecond", "max"] },
        { new FleetSpec([Tier("a", 1) with { MemoryBytes = new Spread(0.5) }]), ["tier 'a'", "MemoryBytes", "bytes"] },
        { new FleetSpec([Tier("a", 1) with { DropoutProbability = 1.5 }]), ["tier 'a'", "DropoutProbability", "[0, 1]"] },
        { new FleetSpec([Tier("a", 1) with { Availability = Availability.Markov(0, 10) }]), ["tier 'a'", "MeanOnSeconds"] },
        { new FleetSpec([Tier("a,b", 1)]), ["tier 'a,b'", "commas"] },
        { new FleetSpec([]), ["at least one tier"] },
    };

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public void Generate_InvalidSpec_ErrorNamesTierAndField(FleetSpec spec, string[] fragments)
    {
        var e = Assert.Throws<ArgumentException>(() => FleetGenerator.Generate(spec, 10, 0));

        foreach (string fragment in fragments) Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Generate_NoDevices_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FleetGenerator.Generate(ThreeTiers, 0, 0));
    }

    [Fact]
    public void Timeline_SameRunSeedAndId_SameWindows_OtherIdsIndependent()
    {
        var fleet = FleetGenerator.Generate(ThreeTiers, 10, seed: 8);

        double a = fleet.Timeline(3, runSeed: 99).NextChange(0);
        double again = fleet.Timeline(3, runSeed: 99).NextChange(0);
        double otherDevice = fleet.Timeline(4, runSeed: 99).NextChange(0);
        double otherRun = fleet.Timeline(3, runSeed: 100).NextChange(0);

        Assert.Equal(a, again);
        Assert.NotEqual(a, otherDevice);
        Assert.NotEqual(a, otherRun);
        Assert.Throws<ArgumentOutOfRangeException>(() => fleet.Timeline(10, 99));
    }

    [Fact]
    public void Fleet_IdsNotDense_Throws()
    {
        DeviceProfile d = FleetGenerator.Generate(ThreeTiers, 1, 0)[0];

        var gap = Assert.Throws<ArgumentException>(() => new DeviceFleet([d, d with { Id = 2 }]));
        var dup = Assert.Throws<ArgumentException>(() => new DeviceFleet([d, d]));

        Assert.Contains("0..1", gap.Message);
        Assert.Contains("twice", dup.Message);
    }

    [Fact]
    public void Fleet_NonCanonicalAvailability_Canonicalised()
    {
        DeviceProfile d = FleetGenerator.Generate(ThreeTiers, 1, 0)[0] with
        {
            Availability = new Availability(AvailabilityKind.Always, MeanOnSeconds: 5, DailyHours: 3),
        };

        var fleet = new DeviceFleet([d]);

        Assert.Same(Availability.Always, fleet[0].Availability);
    }
}
