using System.Globalization;

namespace Ftte.Simulation.Fleet.Internal;

/// <summary>The fields of one device in a fleet file.</summary>
internal enum Field
{
    Id, Tier, MemoryBytes, FlopsPerSecond, DownlinkBps, UplinkBps, LatencyS,
    Availability, MeanOnS, MeanOffS, DailyStartHour, DailyHours, DropoutProbability,
}

/// <summary>
/// One device as read from a file, before cross-field checks: both readers fill it, then
/// <see cref="FleetFields.Build"/> applies the same rules to both formats.
/// </summary>
internal sealed class RawDevice
{
    public int? Id;
    public string? Tier;
    public long? MemoryBytes;
    public AvailabilityKind? Kind;
    public readonly double?[] Numbers = new double?[FleetFields.Count];
}

internal static class FleetFields
{
    public const int Count = 13;

    public static readonly string[] CsvNames =
    [
        "id", "tier", "memory_bytes", "flops_per_second", "downlink_bps", "uplink_bps", "latency_s",
        "availability", "mean_on_s", "mean_off_s", "daily_start_hour", "daily_hours", "dropout_probability",
    ];

    public static readonly string[] JsonNames =
    [
        "id", "tier", "memoryBytes", "flopsPerSecond", "downlinkBps", "uplinkBps", "latencyS",
        "availability", "meanOnS", "meanOffS", "dailyStartHour", "dailyHours", "dropoutProbability",
    ];

    public static readonly string KindNames = "always, markov, daily";

    /// <summary>The range of each plain numeric field (null for the others).</summary>
    public static Bound? BoundOf(Field f) => f switch
    {
        Field.FlopsPerSecond or Field.DownlinkBps or Field.UplinkBps => Bound.Positive,
        Field.LatencyS => Bound.NonNegative,
        Field.MeanOnS or Field.MeanOffS => Bound.Positive,
        Field.DailyStartHour => Bound.HourOfDay,
        Field.DailyHours => Bound.HoursPerDay,
        Field.DropoutProbability => Bound.Probability,
        _ => null,
    };

    /// <summary>What a valid value of the field looks like, phrased to follow "expected".</summary>
    public static string Expected(Field f) => f switch
    {
        Field.Id => "an integer id ≥ 0",
        Field.Tier => "a non-empty tier name without commas, quotes, control characters or surrounding spaces",
        Field.MemoryBytes => "an integer number of bytes > 0 or a size like 2MiB",
        Field.Availability => $"one of {KindNames}",
        _ => Bounds.Describe(BoundOf(f)!.Value),
    };

    public static bool TryParseKind(string text, out AvailabilityKind kind)
    {
        switch (text.ToLowerInvariant())
        {
            case "always": kind = AvailabilityKind.Always; return true;
            case "markov": kind = AvailabilityKind.Markov; return true;
            case "daily": kind = AvailabilityKind.Daily; return true;
            default: kind = default; return false;
        }
    }

    public static string KindName(AvailabilityKind kind) => kind switch
    {
        AvailabilityKind.Always => "always",
        AvailabilityKind.Markov => "markov",
        AvailabilityKind.Daily => "daily",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Parses a byte count: a plain integer, or a size with a unit (ByteSize).</summary>
    public static bool TryParseBytes(string text, out long bytes)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out bytes)) return true;
        try
        {
            bytes = Ftte.Core.ByteSize.Parse(text);
            return true;
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            return false;
        }
    }

    public static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Applies the rules shared by both formats: required fields present, numbers in range, and the
    /// availability fields present exactly for their kind (mean_on_s/mean_off_s for markov,
    /// daily_start_hour/daily_hours for daily). <paramref name="fail"/> makes the exception for a field.
    /// </summary>
    public static DeviceProfile Build(RawDevice raw, Func<Field, string, FleetFormatException> fail,
        Dictionary<string, string> tiers, Dictionary<Availability, Availability> availabilities)
    {
        int id = raw.Id ?? throw Missing(Field.Id);
        string tierText = raw.Tier ?? throw Missing(Field.Tier);
        if (!DeviceProfile.IsValidTierName(tierText)) throw fail(Field.Tier, $"'{tierText}' is not allowed; expected {Expected(Field.Tier)}");
        long memory = raw.MemoryBytes ?? throw Missing(Field.MemoryBytes);
        if (memory <= 0) throw fail(Field.MemoryBytes, $"{memory} is out of range; expected {Expected(Field.MemoryBytes)}");
        AvailabilityKind kind = raw.Kind ?? throw Missing(Field.Availability);

        Field[] relevant = kind switch
        {
            AvailabilityKind.Markov => [Field.MeanOnS, Field.MeanOffS],
            AvailabilityKind.Daily => [Field.DailyStartHour, Field.DailyHours],
            _ => [],
        };
        foreach (Field f in (Field[])[Field.MeanOnS, Field.MeanOffS, Field.DailyStartHour, Field.DailyHours])
        {
            bool given = raw.Numbers[(int)f] is not null;
            if (relevant.Contains(f) && !given)
                throw fail(f, $"is required for {KindName(kind)} availability; expected {Expected(f)}");
            if (!relevant.Contains(f) && given)
                throw fail(f, $"is not used by {KindName(kind)} availability; leave it empty");
        }

        double Number(Field f)
        {
            double v = raw.Numbers[(int)f] ?? throw Missing(f);
            Bound bound = BoundOf(f)!.Value;
            if (!Bounds.Holds(v, bound)) throw fail(f, $"{Show(v)} is out of range; expected {Expected(f)}");
            return v;
        }

        double flops = Number(Field.FlopsPerSecond), down = Number(Field.DownlinkBps), up = Number(Field.UplinkBps);
        double latency = Number(Field.LatencyS);
        Availability availability = kind switch
        {
            AvailabilityKind.Markov => Availability.Markov(Number(Field.MeanOnS), Number(Field.MeanOffS)),
            AvailabilityKind.Daily => Availability.Daily(Number(Field.DailyStartHour), Number(Field.DailyHours)),
            _ => Availability.Always,
        };
        double dropout = Number(Field.DropoutProbability);

        // Share tier strings and availability records between devices: a 10,000-device fleet read from a
        // file should weigh what a generated one does.
        if (!tiers.TryGetValue(tierText, out string? tier)) tiers[tierText] = tier = tierText;
        if (!availabilities.TryGetValue(availability, out Availability? shared)) availabilities[availability] = shared = availability;
        return new DeviceProfile(id, tier, memory, flops, down, up, latency, shared, dropout);

        FleetFormatException Missing(Field f) => fail(f, $"is missing; expected {Expected(f)}");
    }

    /// <summary>
    /// Orders the devices by id and checks the ids are exactly 0..N−1. <paramref name="where"/> gives the
    /// location of device i in the file (e.g. "line 5" or "$.devices[3]") for the message.
    /// </summary>
    public static DeviceFleet Assemble(IReadOnlyList<DeviceProfile> devices, Func<int, Field, string, FleetFormatException> failAt,
        Func<int, string> where, Func<string, FleetFormatException> failFile)
    {
        if (devices.Count == 0) throw failFile("the file lists no devices; a fleet needs at least one");
        var indexOfId = new int[devices.Count];
        Array.Fill(indexOfId, -1);
        for (int i = 0; i < devices.Count; i++)
        {
            int id = devices[i].Id;
            if (id >= devices.Count)
                throw failAt(i, Field.Id, $"{id} is out of range; the file lists {devices.Count} devices, so ids must be 0..{devices.Count - 1}");
            if (indexOfId[id] >= 0)
                throw failAt(i, Field.Id, $"{id} is a duplicate (also at {where(indexOfId[id])}); ids must be unique, 0..{devices.Count - 1}");
            indexOfId[id] = i;
        }
        // N ids, all < N and unique: none can be missing, so the fleet's own check cannot fail here.
        return new DeviceFleet(devices);
    }
}
