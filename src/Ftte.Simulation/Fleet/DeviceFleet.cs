using Ftte.Core;

namespace Ftte.Simulation.Fleet;

/// <summary>
/// The devices of one simulated deployment, ordered by id (ids are dense: 0..N−1). Immutable. Holds only
/// the profiles (tier names and availability specs are shared between devices), so a 10,000-device fleet
/// takes about a megabyte; availability timelines are created on demand per run.
/// </summary>
public sealed class DeviceFleet
{
    // Stream tag for timeline seeds, so they never coincide with other per-device streams of the same run seed.
    private const ulong TimelineStream = 0x41564149_4C414249UL; // "AVAILABI"

    private readonly DeviceProfile[] _devices;
    private readonly string[] _tiers;
    private readonly Dictionary<string, int> _tierCounts;

    /// <summary>
    /// Validates every profile and checks that ids are exactly 0..N−1 (in any order; the fleet sorts them).
    /// Availability specs are canonicalised (fields of other kinds reset) so that files round-trip exactly.
    /// </summary>
    public DeviceFleet(IEnumerable<DeviceProfile> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        DeviceProfile[] all = devices.ToArray();
        if (all.Length == 0) throw new ArgumentException("A fleet needs at least one device.", nameof(devices));
        var sorted = new DeviceProfile[all.Length];
        foreach (DeviceProfile? d in all)
        {
            if (d is null) throw new ArgumentException("A fleet cannot hold a null device.", nameof(devices));
            d.Validate();
            if (d.Id >= all.Length)
                throw new ArgumentException($"Device id {d.Id} is out of range: the {all.Length} ids must be 0..{all.Length - 1}.", nameof(devices));
            if (sorted[d.Id] is not null) throw new ArgumentException($"Device id {d.Id} appears twice.", nameof(devices));
            Availability canonical = d.Availability.Canonical();
            sorted[d.Id] = ReferenceEquals(canonical, d.Availability) ? d : d with { Availability = canonical };
        }
        _devices = sorted;
        _tierCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        var tiers = new List<string>();
        foreach (DeviceProfile d in sorted)
        {
            if (_tierCounts.TryGetValue(d.Tier, out int n)) _tierCounts[d.Tier] = n + 1;
            else { _tierCounts[d.Tier] = 1; tiers.Add(d.Tier); }
        }
        _tiers = tiers.ToArray();
    }

    /// <summary>The devices; <c>Devices[i].Id == i</c>.</summary>
    public IReadOnlyList<DeviceProfile> Devices => _devices;

    public int Count => _devices.Length;

    public DeviceProfile this[int id] => _devices[id];

    /// <summary>Distinct tier names in order of first appearance by id.</summary>
    public IReadOnlyList<string> Tiers => _tiers;

    /// <summary>How many devices belong to <paramref name="tier"/> (0 for an unknown tier).</summary>
    public int CountInTier(string tier) => _tierCounts.GetValueOrDefault(tier);

    /// <summary>The seed of device <paramref name="id"/>'s availability timeline in the run seeded <paramref name="runSeed"/>.</summary>
    public static ulong TimelineSeed(ulong runSeed, int id) => Rng.Mix(Rng.Mix(runSeed, TimelineStream), (ulong)id);

    /// <summary>
    /// A fresh availability timeline for device <paramref name="id"/>: the same (run seed, id) gives the same
    /// windows, and each device's windows are independent of the others'.
    /// </summary>
    public AvailabilityTimeline Timeline(int id, ulong runSeed)
    {
        if ((uint)id >= (uint)_devices.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"Device ids are 0..{_devices.Length - 1}.");
        return new AvailabilityTimeline(_devices[id].Availability, TimelineSeed(runSeed, id));
    }
}
