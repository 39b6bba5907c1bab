using Ftte.Federation;

namespace Ftte.Simulation.Fleet;

/// <summary>
/// A simulated device's capabilities. Units: bytes, FLOP/s, bit/s, seconds. The memory is what the
/// device can give to training (not its total RAM).
/// </summary>
public sealed record DeviceProfile(
    int Id,
    string Tier,
    long MemoryBytes,
    double FlopsPerSecond,
    double DownlinkBitsPerSecond,
    double UplinkBitsPerSecond,
    double LatencySeconds,
    Availability Availability,
    double DropoutProbability)
{
    /// <summary>What the server sees of this device (declared capabilities and data size).</summary>
    public DeviceInfo ToInfo(int trainSamples) =>
        new(Id, Tier, MemoryBytes, FlopsPerSecond, DownlinkBitsPerSecond, UplinkBitsPerSecond, LatencySeconds, trainSamples);
}

public enum AvailabilityKind
{
    /// <summary>Online all the time.</summary>
    Always,
    /// <summary>Alternating online/offline windows with exponentially distributed lengths (a two-state Markov chain).</summary>
    Markov,
    /// <summary>Online for <see cref="Availability.DailyHours"/> hours from <see cref="Availability.DailyStartHour"/> every day (e.g. charging overnight).</summary>
    Daily,
}

/// <summary>When a device is online. Only the fields of its kind matter.</summary>
public sealed record Availability(
    AvailabilityKind Kind,
    double MeanOnSeconds = 0,
    double MeanOffSeconds = 0,
    double DailyStartHour = 0,
    double DailyHours = 24)
{
    public static Availability Always { get; } = new(AvailabilityKind.Always);
}
