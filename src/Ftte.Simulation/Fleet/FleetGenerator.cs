using Ftte.Core;

namespace Ftte.Simulation.Fleet;

/// <summary>Draws a fleet from a <see cref="FleetSpec"/>: deterministic for a (spec, device count, seed).</summary>
public static class FleetGenerator
{
    private const ulong TierOrderStream = 1;
    private const ulong DeviceStream = 2;

    /// <summary>
    /// Generates <paramref name="devices"/> devices. Tier sizes are the normalised shares rounded by largest
    /// remainder (ties to the earlier tier), so they sum to the device count and do not depend on the seed.
    /// Which ids get which tier is a seeded shuffle, so that nothing ordered by id (data shards, sampling
    /// by id) lines up with the tiers. Each device's values come from its own stream (seed, id).
    /// </summary>
    public static DeviceFleet Generate(FleetSpec spec, int devices, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (devices <= 0) throw new ArgumentOutOfRangeException(nameof(devices), devices, "A fleet needs at least one device.");

        int[] counts = TierCounts(spec, devices);
        var tierOf = new int[devices];
        for (int tier = 0, id = 0; tier < counts.Length; tier++)
            for (int j = 0; j < counts[tier]; j++) tierOf[id++] = tier;
        Rng.ForStream(seed, TierOrderStream).Shuffle(tierOf.AsSpan());

        // One availability record per tier, canonical, shared by all its devices: memory stays per-device small.
        Availability[] availability = spec.Tiers.Select(t => t.Availability.Canonical()).ToArray();
        ulong deviceSeed = Rng.Mix(seed, DeviceStream);
        var profiles = new DeviceProfile[devices];
        for (int id = 0; id < devices; id++)
        {
            TierSpec t = spec.Tiers[tierOf[id]];
            Rng rng = Rng.ForStream(deviceSeed, (ulong)id);
            long memory = Math.Max(1, (long)Math.Round(t.MemoryBytes.Sample(rng)));
            profiles[id] = new DeviceProfile(
                id, t.Name, memory,
                t.FlopsPerSecond.Sample(rng),
                t.DownlinkBitsPerSecond.Sample(rng),
                t.UplinkBitsPerSecond.Sample(rng),
                t.LatencySeconds.Sample(rng),
                availability[tierOf[id]],
                t.DropoutProbability);
        }
        return new DeviceFleet(profiles);
    }

    /// <summary>Devices per tier: largest-remainder rounding of the normalised shares (Hamilton's method).</summary>
    public static int[] TierCounts(FleetSpec spec, int devices)
    {
        ArgumentNullException.ThrowIfNull(spec);
        double[] shares = spec.NormalisedShares();
        var counts = new int[shares.Length];
        var remainders = new double[shares.Length];
        int assigned = 0;
        for (int i = 0; i < shares.Length; i++)
        {
            double quota = shares[i] * devices;
            counts[i] = (int)Math.Floor(quota);
            remainders[i] = quota - counts[i];
            assigned += counts[i];
        }
        // Stable order: larger remainder first, then earlier tier, so the result never depends on sort internals.
        int[] order = Enumerable.Range(0, shares.Length).OrderByDescending(i => remainders[i]).ThenBy(i => i).ToArray();
        for (int k = 0; assigned < devices; k++, assigned++) counts[order[k % order.Length]]++;
        return counts;
    }
}
