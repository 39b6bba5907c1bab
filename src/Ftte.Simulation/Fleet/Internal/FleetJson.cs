using System.Text.Json;

namespace Ftte.Simulation.Fleet.Internal;

/// <summary>
/// The JSON fleet format: <c>{"devices":[{...}, ...]}</c>, one object per device with the CSV fields in
/// camelCase; the availability fields of other kinds are omitted (or null). Memory may also be a size
/// string such as "2MiB".
/// </summary>
internal static class FleetJson
{
    private const string DevicesKey = "devices";

    public static void Write(DeviceFleet fleet, Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        string[] k = FleetFields.JsonNames;
        w.WriteStartObject();
        w.WriteStartArray(DevicesKey);
        foreach (DeviceProfile d in fleet.Devices)
        {
            Availability a = d.Availability;
            w.WriteStartObject();
            w.WriteNumber(k[(int)Field.Id], d.Id);
            w.WriteString(k[(int)Field.Tier], d.Tier);
            w.WriteNumber(k[(int)Field.MemoryBytes], d.MemoryBytes);
            // Utf8JsonWriter prints doubles in their shortest round-trippable form, so reading gives the same bits.
            w.WriteNumber(k[(int)Field.FlopsPerSecond], d.FlopsPerSecond);
            w.WriteNumber(k[(int)Field.DownlinkBps], d.DownlinkBitsPerSecond);
            w.WriteNumber(k[(int)Field.UplinkBps], d.UplinkBitsPerSecond);
            w.WriteNumber(k[(int)Field.LatencyS], d.LatencySeconds);
            w.WriteString(k[(int)Field.Availability], FleetFields.KindName(a.Kind));
            if (a.Kind == AvailabilityKind.Markov)
            {
                w.WriteNumber(k[(int)Field.MeanOnS], a.MeanOnSeconds);
                w.WriteNumber(k[(int)Field.MeanOffS], a.MeanOffSeconds);
            }
            else if (a.Kind == AvailabilityKind.Daily)
            {
                w.WriteNumber(k[(int)Field.DailyStartHour], a.DailyStartHour);
                w.WriteNumber(k[(int)Field.DailyHours], a.DailyHours);
            }
            w.WriteNumber(k[(int)Field.DropoutProbability], d.DropoutProbability);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
    }

    public static DeviceFleet Read(Stream stream, string file)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(stream);
        }
        catch (JsonException e)
        {
            // JsonException positions are 0-based and repeated inside its message; report them 1-based once.
            int? line = e.LineNumber is long l ? (int)l + 1 : null;
            string detail = e.Message;
            int cut = detail.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut >= 0) detail = detail[..cut];
            detail = detail.Replace(" Change the reader options.", "", StringComparison.Ordinal).TrimEnd('.', ' ');
            string column = e.BytePositionInLine is long b ? $", byte {b + 1} of the line" : "";
            throw new FleetFormatException(file, line, null, null, $"not valid JSON: {detail}{column}");
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Fail("$", null, $"the document is a JSON {Kind(root)}; expected an object {{\"devices\": [...]}}");
            JsonElement? devicesElement = null;
            foreach (JsonProperty p in root.EnumerateObject())
            {
                if (p.Name != DevicesKey) throw Fail($"$.{p.Name}", p.Name, "unknown key; the document holds only \"devices\"");
                if (devicesElement is not null) throw Fail($"$.{p.Name}", p.Name, "the key appears twice");
                devicesElement = p.Value;
            }
            if (devicesElement is not { } devices) throw Fail("$.devices", DevicesKey, "is missing; expected an array of device objects");
            if (devices.ValueKind != JsonValueKind.Array)
                throw Fail("$.devices", DevicesKey, $"is a JSON {Kind(devices)}; expected an array of device objects");

            var profiles = new List<DeviceProfile>();
            var tiers = new Dictionary<string, string>(StringComparer.Ordinal);
            var availabilities = new Dictionary<Availability, Availability>();
            int index = 0;
            foreach (JsonElement item in devices.EnumerateArray())
            {
                profiles.Add(ReadDevice(item, $"$.devices[{index}]", tiers, availabilities));
                index++;
            }
            return FleetFields.Assemble(profiles,
                (i, f, problem) => Fail($"$.devices[{i}].{FleetFields.JsonNames[(int)f]}", FleetFields.JsonNames[(int)f], problem),
                i => $"$.devices[{i}]",
                problem => new FleetFormatException(file, null, "$.devices", DevicesKey, problem));
        }

        DeviceProfile ReadDevice(JsonElement item, string path, Dictionary<string, string> tiers, Dictionary<Availability, Availability> availabilities)
        {
            if (item.ValueKind != JsonValueKind.Object) throw Fail(path, null, $"is a JSON {Kind(item)}; expected a device object");
            var raw = new RawDevice();
            var seen = new bool[FleetFields.Count];
            foreach (JsonProperty p in item.EnumerateObject())
            {
                int f = Array.IndexOf(FleetFields.JsonNames, p.Name);
                string at = $"{path}.{p.Name}";
                if (f < 0) throw Fail(at, p.Name, $"unknown key; the keys are {string.Join(", ", FleetFields.JsonNames)}");
                if (seen[f]) throw Fail(at, p.Name, "the key appears twice");
                seen[f] = true;
                if (p.Value.ValueKind == JsonValueKind.Null) continue; // null = absent; Build says whether that is allowed
                Parse(raw, (Field)f, p.Value, at);
            }
            return FleetFields.Build(raw, (f, problem) => Fail($"{path}.{FleetFields.JsonNames[(int)f]}", FleetFields.JsonNames[(int)f], problem),
                tiers, availabilities);
        }

        void Parse(RawDevice raw, Field field, JsonElement v, string at)
        {
            string name = FleetFields.JsonNames[(int)field];
            FleetFormatException Bad() =>
                Fail(at, name, $"{Show(v)} is not valid; expected {FleetFields.Expected(field)}");
            switch (field)
            {
                case Field.Id:
                    if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int id)) throw Bad();
                    raw.Id = id;
                    break;
                case Field.Tier:
                    if (v.ValueKind != JsonValueKind.String) throw Bad();
                    raw.Tier = v.GetString();
                    break;
                case Field.MemoryBytes:
                    long bytes;
                    if (v.ValueKind == JsonValueKind.Number) { if (!v.TryGetInt64(out bytes)) throw Bad(); }
                    else if (v.ValueKind != JsonValueKind.String || !FleetFields.TryParseBytes(v.GetString()!, out bytes)) throw Bad();
                    raw.MemoryBytes = bytes;
                    break;
                case Field.Availability:
                    if (v.ValueKind != JsonValueKind.String || !FleetFields.TryParseKind(v.GetString()!, out AvailabilityKind kind)) throw Bad();
                    raw.Kind = kind;
                    break;
                default:
                    if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d)) throw Bad();
                    raw.Numbers[(int)field] = d;
                    break;
            }
        }

        FleetFormatException Fail(string path, string? field, string problem) => new(file, null, path, field, problem);
    }

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    private static string Show(JsonElement e)
    {
        string text = e.GetRawText();
        return text.Length <= 40 ? text : text[..37] + "...";
    }
}
