using System.Text;
using Ftte.Reporting.Internal;

namespace Ftte.Reporting;

/// <summary>
/// metrics.csv: one row per (strategy, evaluation point), counters cumulative as in <see cref="MetricsPoint"/>.
/// </summary>
/// <remarks>
/// The output is byte-for-byte a function of the inputs: invariant culture, shortest round-trip
/// numbers ("R"), <c>\n</c> line ends whatever the platform, RFC 4180 quoting. The one column that is not
/// a function of the run's seed is <c>wall_s</c> (host wall-clock), so it is the last column and is left
/// out by default: metrics.csv files of two runs with the same seed are then identical and can be
/// compared with <c>cmp</c>; the run's wall time is kept in summary.json (<see cref="RunSummary.WallSeconds"/>).
/// Pass <c>includeWallClock: true</c> to get a per-point wall-clock column for profiling.
/// </remarks>
public static class MetricsCsv
{
    private const string Columns =
        "strategy,time_s,version,test_accuracy,test_loss,updates_received,updates_accepted,updates_dropped," +
        "updates_stale,tasks_failed,bytes_down,bytes_up,devices_contributed,data_share_contributed," +
        "device_busy_s,device_idle_s,staleness_histogram";

    /// <summary>The header line (without its line end). An <c>epsilon</c> column follows when a run is differentially private.</summary>
    public static string Header(bool includeWallClock = false, bool includeEpsilon = false) =>
        Columns + (includeEpsilon ? ",epsilon" : "") + (includeWallClock ? ",wall_s" : "");

    /// <summary>Writes the runs of <paramref name="comparison"/> in their order, each run's points in their order.</summary>
    public static void Write(TextWriter writer, Comparison comparison, bool includeWallClock = false)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        Write(writer, comparison.Runs, includeWallClock);
    }

    /// <summary>Writes the header and one row per point of every run.</summary>
    public static void Write(TextWriter writer, IEnumerable<RunResult> runs, bool includeWallClock = false)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(runs);

        var list = runs as IReadOnlyCollection<RunResult> ?? [.. runs];
        runs = list;
        bool epsilon = list.Any(r => r.Points.Any(p => double.IsFinite(p.Epsilon)));
        writer.Write(Header(includeWallClock, epsilon));
        writer.Write('\n');
        var row = new StringBuilder(256);
        foreach (RunResult run in runs)
        {
            string strategy = Quote(run.Strategy);
            foreach (MetricsPoint p in run.Points)
            {
                row.Clear();
                row.Append(strategy).Append(',')
                   .Append(Invariant.RoundTrip(p.Time)).Append(',')
                   .Append(Invariant.Integer(p.Version)).Append(',')
                   .Append(Invariant.RoundTrip(p.TestAccuracy)).Append(',')
                   .Append(Invariant.RoundTrip(p.TestLoss)).Append(',')
                   .Append(Invariant.Integer(p.UpdatesReceived)).Append(',')
                   .Append(Invariant.Integer(p.UpdatesAccepted)).Append(',')
                   .Append(Invariant.Integer(p.UpdatesDropped)).Append(',')
                   .Append(Invariant.Integer(p.UpdatesStale)).Append(',')
                   .Append(Invariant.Integer(p.TasksFailed)).Append(',')
                   .Append(Invariant.Integer(p.BytesDown)).Append(',')
                   .Append(Invariant.Integer(p.BytesUp)).Append(',')
                   .Append(Invariant.Integer(p.DevicesContributed)).Append(',')
                   .Append(Invariant.RoundTrip(p.DataShareContributed)).Append(',')
                   .Append(Invariant.RoundTrip(p.DeviceBusySeconds)).Append(',')
                   .Append(Invariant.RoundTrip(p.DeviceIdleSeconds)).Append(',');
                AppendHistogram(row, p.StalenessHistogram);
                if (epsilon)
                    row.Append(',').Append(double.IsFinite(p.Epsilon) ? Invariant.RoundTrip(p.Epsilon) : "");
                if (includeWallClock)
                    row.Append(',').Append(Invariant.RoundTrip(p.WallSeconds));
                row.Append('\n');
                writer.Write(row);
            }
        }
    }

    /// <summary>Writes metrics.csv (UTF-8 without BOM) at <paramref name="path"/>; wall-clock left out unless asked.</summary>
    public static void WriteFile(string path, Comparison comparison, bool includeWallClock = false)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        Write(writer, comparison, includeWallClock);
    }

    /// <summary>RFC 4180: a field with a comma, quote or line break is quoted, inner quotes doubled.</summary>
    internal static string Quote(string field)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (field.AsSpan().IndexOfAny(",\"\r\n") < 0)
            return field;
        return "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    // "n0;n1;…" — semicolons keep the histogram in one unquoted field.
    private static void AppendHistogram(StringBuilder row, long[] histogram)
    {
        for (int i = 0; i < histogram.Length; i++)
        {
            if (i > 0)
                row.Append(';');
            row.Append(Invariant.Integer(histogram[i]));
        }
    }
}
