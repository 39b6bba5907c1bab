using Ftte.Federation;
using Ftte.Simulation.Fleet.Internal;

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

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the device and the field if a value is out of range:
    /// id ≥ 0; a tier name that fits a CSV cell; memory, compute and bandwidths &gt; 0; latency ≥ 0;
    /// dropout in [0, 1]; a valid <see cref="Availability"/>.
    /// </summary>
    public void Validate()
    {
        string owner = $"device {Id}";
        if (Id < 0) throw new ArgumentException($"{owner}: Id must be ≥ 0.", nameof(Id));
        if (!IsValidTierName(Tier))
            throw new ArgumentException(
                $"{owner}: tier name '{Tier}' is not allowed; use a non-empty name without commas, quotes, control characters or surrounding spaces.", nameof(Tier));
        if (MemoryBytes <= 0) throw new ArgumentException($"{owner}: MemoryBytes is {MemoryBytes}; expected > 0.", nameof(MemoryBytes));
        Bounds.Check(FlopsPerSecond, Bound.Positive, owner, nameof(FlopsPerSecond));
        Bounds.Check(DownlinkBitsPerSecond, Bound.Positive, owner, nameof(DownlinkBitsPerSecond));
        Bounds.Check(UplinkBitsPerSecond, Bound.Positive, owner, nameof(UplinkBitsPerSecond));
        Bounds.Check(LatencySeconds, Bound.NonNegative, owner, nameof(LatencySeconds));
        ArgumentNullException.ThrowIfNull(Availability);
        Availability.Validate(owner);
        Bounds.Check(DropoutProbability, Bound.Probability, owner, nameof(DropoutProbability));
    }

    /// <summary>Tier names travel in CSV cells unquoted, so they must not need quoting.</summary>
    public static bool IsValidTierName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Trim().Length == name.Length
        && !name.Any(c => c is ',' or '"' || char.IsControl(c));
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

    /// <summary>Alternating online/offline windows with exponential lengths of these means.</summary>
    public static Availability Markov(double meanOnSeconds, double meanOffSeconds) =>
        new(AvailabilityKind.Markov, MeanOnSeconds: meanOnSeconds, MeanOffSeconds: meanOffSeconds);

    /// <summary>Online for <paramref name="hours"/> hours from <paramref name="startHour"/> every day; t = 0 is midnight.</summary>
    public static Availability Daily(double startHour, double hours) =>
        new(AvailabilityKind.Daily, DailyStartHour: startHour, DailyHours: hours);

    /// <summary>Long-run fraction of time online.</summary>
    public double OnlineFraction => Kind switch
    {
        AvailabilityKind.Markov => MeanOnSeconds / (MeanOnSeconds + MeanOffSeconds),
        AvailabilityKind.Daily => DailyHours / 24,
        _ => 1,
    };

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> (its ParamName is the offending property) unless the fields
    /// of this kind are in range: Markov means &gt; 0; Daily start in [0, 24) and hours in (0, 24].
    /// </summary>
    public void Validate() => Validate("availability");

    internal void Validate(string owner)
    {
        switch (Kind)
        {
            case AvailabilityKind.Always:
                break;
            case AvailabilityKind.Markov:
                Bounds.Check(MeanOnSeconds, Bound.Positive, owner, nameof(MeanOnSeconds));
                Bounds.Check(MeanOffSeconds, Bound.Positive, owner, nameof(MeanOffSeconds));
                break;
            case AvailabilityKind.Daily:
                Bounds.Check(DailyStartHour, Bound.HourOfDay, owner, nameof(DailyStartHour));
                Bounds.Check(DailyHours, Bound.HoursPerDay, owner, nameof(DailyHours));
                break;
            default:
                throw new ArgumentException($"{owner}: unknown availability kind {(int)Kind}.", nameof(Kind));
        }
    }

    /// <summary>The same availability with the fields other kinds use reset to their defaults, so equal behaviour means equal records (and files round-trip exactly).</summary>
    public Availability Canonical() => Kind switch
    {
        AvailabilityKind.Always => Always,
        AvailabilityKind.Markov => DailyStartHour == 0 && DailyHours == 24 ? this : this with { DailyStartHour = 0, DailyHours = 24 },
        AvailabilityKind.Daily => MeanOnSeconds == 0 && MeanOffSeconds == 0 ? this : this with { MeanOnSeconds = 0, MeanOffSeconds = 0 },
        _ => this,
    };
}
