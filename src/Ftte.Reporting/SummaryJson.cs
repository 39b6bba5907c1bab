using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ftte.Reporting;

/// <summary>
/// summary.json: <c>{"title", "setup": {name: value}, "runs": [summary…]}</c>, indented, keys camelCase in
/// a fixed order (the order of <see cref="RunSummary"/>'s members), <c>\n</c> line ends. A missing
/// <see cref="RunSummary.TimeToTarget"/> and any non-finite number are written as <c>null</c>.
/// </summary>
public static class SummaryJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        NewLine = "\n",
        // Readable names such as "τ-hinge" or "FedBuff (K=10)"; the file is never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes UTF-8 JSON to <paramref name="stream"/>.</summary>
    /// <exception cref="ArgumentException">Two setup entries share a name.</exception>
    public static void Write(Stream stream, Comparison comparison)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(comparison);
        using var json = new Utf8JsonWriter(stream, WriterOptions);
        WriteComparison(json, comparison);
        json.Flush();
    }

    /// <summary>Writes the JSON text to <paramref name="writer"/>.</summary>
    public static void Write(TextWriter writer, Comparison comparison)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(ToJson(comparison));
    }

    /// <summary>The JSON text, ending with a line end.</summary>
    public static string ToJson(Comparison comparison)
    {
        using var buffer = new MemoryStream();
        Write(buffer, comparison);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length) + "\n";
    }

    /// <summary>Writes summary.json (UTF-8 without BOM) at <paramref name="path"/>.</summary>
    public static void WriteFile(string path, Comparison comparison) =>
        File.WriteAllText(path, ToJson(comparison), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

    private static void WriteComparison(Utf8JsonWriter json, Comparison comparison)
    {
        json.WriteStartObject();
        json.WriteString("title", comparison.Title);

        json.WriteStartObject("setup");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> entry in comparison.Setup)
        {
            if (!seen.Add(entry.Key))
                throw new ArgumentException($"Setup entry '{entry.Key}' appears twice; give each setup entry a distinct name.", nameof(comparison));
            json.WriteString(entry.Key, entry.Value);
        }
        json.WriteEndObject();

        json.WriteStartArray("runs");
        foreach (RunResult run in comparison.Runs)
            WriteSummary(json, run.Summary);
        json.WriteEndArray();

        if (comparison.Reference is { } reference)
        {
            json.WriteString("reference", reference);
            json.WriteStartArray("reductions");
            foreach (var r in Reduction.Against(comparison, reference))
            {
                json.WriteStartObject();
                json.WriteString("against", r.Other);
                Optional(json, "timeToTarget", r.TimeToTarget);
                Optional(json, "peakMemory", r.PeakMemory);
                Optional(json, "payloadPerTask", r.PayloadPerTask);
                Optional(json, "payloadToTarget", r.PayloadToTarget);
                Optional(json, "payloadTotal", r.PayloadTotal);
                Number(json, "accuracyDifference", r.AccuracyDifference);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }

        if (comparison.Scaling.Count > 0)
        {
            json.WriteStartArray("scaling");
            foreach (var p in comparison.Scaling)
            {
                json.WriteStartObject();
                json.WriteNumber("devices", p.Devices);
                json.WriteString("strategy", p.Strategy);
                Optional(json, "timeToTarget", p.TimeToTarget);
                Number(json, "finalAccuracy", p.FinalAccuracy);
                json.WriteNumber("peakPlannedBytes", p.PeakPlannedBytes);
                Optional(json, "payloadPerTask", p.PayloadPerTask);
                Optional(json, "bytesToTarget", p.BytesToTarget);
                Number(json, "wallSeconds", p.WallSeconds);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void Optional(Utf8JsonWriter json, string name, double? value)
    {
        if (value is double v) Number(json, name, v);
        else json.WriteNull(name);
    }

    private static void WriteSummary(Utf8JsonWriter json, RunSummary s)
    {
        json.WriteStartObject();
        json.WriteString("strategy", s.Strategy);
        Number(json, "targetAccuracy", s.TargetAccuracy);
        if (s.TimeToTarget is double t)
            Number(json, "timeToTarget", t);
        else
            json.WriteNull("timeToTarget");
        Number(json, "finalAccuracy", s.FinalAccuracy);
        Number(json, "bestAccuracy", s.BestAccuracy);
        Number(json, "endTime", s.EndTime);
        json.WriteNumber("finalVersion", s.FinalVersion);
        json.WriteNumber("bytesDown", s.BytesDown);
        json.WriteNumber("bytesUp", s.BytesUp);
        Number(json, "bytesDownPerTask", s.BytesDownPerTask);
        Number(json, "bytesUpPerTask", s.BytesUpPerTask);
        json.WriteNumber("bytesDownFirstContact", s.BytesDownFirstContact);
        json.WriteNumber("peakPlannedBytes", s.PeakPlannedBytes);
        json.WriteNumber("tasks", s.Tasks);
        json.WriteNumber("updatesAccepted", s.UpdatesAccepted);
        json.WriteNumber("updatesDropped", s.UpdatesDropped);
        json.WriteNumber("updatesStale", s.UpdatesStale);
        json.WriteNumber("tasksFailed", s.TasksFailed);
        json.WriteNumber("devices", s.Devices);
        json.WriteNumber("devicesExcluded", s.DevicesExcluded);
        Number(json, "dataShareExcluded", s.DataShareExcluded);
        json.WriteNumber("devicesContributed", s.DevicesContributed);
        Number(json, "dataShareContributed", s.DataShareContributed);

        json.WriteStartArray("tiers");
        foreach (TierStats tier in s.Tiers)
        {
            json.WriteStartObject();
            json.WriteString("tier", tier.Tier);
            json.WriteNumber("devices", tier.Devices);
            json.WriteNumber("memoryBytesMin", tier.MemoryBytesMin);
            json.WriteNumber("peakPlannedBytes", tier.PeakPlannedBytes);
            json.WriteNumber("devicesContributed", tier.DevicesContributed);
            json.WriteNumber("tasks", tier.Tasks);
            Number(json, "busySeconds", tier.BusySeconds);
            json.WriteEndObject();
        }
        json.WriteEndArray();

        Number(json, "wallSeconds", s.WallSeconds);
        Number(json, "overheadShare", s.OverheadShare);
        if (s.Epsilon is double epsilon)
        {
            Number(json, "epsilon", epsilon);
            Number(json, "privacyDelta", s.PrivacyDelta ?? double.NaN);
            if (s.EpsilonPerDevice is double perDevice) Number(json, "epsilonPerDevice", perDevice);
        }

        json.WriteStartArray("notes");
        foreach (string note in s.Notes)
            json.WriteStringValue(note);
        json.WriteEndArray();

        json.WriteEndObject();
    }

    // JSON has no NaN or Infinity; null says "no value" to every reader.
    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
            json.WriteNumber(name, value);
        else
            json.WriteNull(name);
    }
}
