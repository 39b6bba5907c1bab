namespace Ftte.Simulation.Tests.Fleet;

using Ftte.Simulation.Fleet;

public sealed class FleetMemoryTests
{
    [Fact]
    public void TenThousandDevicesWithTimelines_FitInFewMegabytes()
    {
        // Warm up the code paths so JIT and static data are not counted.
        Warm();
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        DeviceFleet fleet = FleetPresets.Create("tiers4", 10_000, seed: 1);
        var timelines = new AvailabilityTimeline[fleet.Count];
        for (int i = 0; i < fleet.Count; i++)
        {
            timelines[i] = fleet.Timeline(i, runSeed: 7);
            timelines[i].IsOnline(3600); // materialises the Markov cursors
        }

        long retained = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        GC.KeepAlive(fleet);
        GC.KeepAlive(timelines);

        Assert.True(retained < 5_000_000, $"retained {retained} bytes ({retained / fleet.Count} per device)");
        Assert.True(allocated < 20_000_000, $"allocated {allocated} bytes ({allocated / fleet.Count} per device)");
    }

    private static void Warm()
    {
        DeviceFleet warm = FleetPresets.Create("tiers4", 10, seed: 0);
        for (int i = 0; i < warm.Count; i++) warm.Timeline(i, 0).IsOnline(3600);
    }
}
