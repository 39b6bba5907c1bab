using System.Text;
using Ftte.Reporting.Internal;
using Ftte.Reporting.Svg;

namespace Ftte.Reporting;

/// <summary>
/// report.html: one self-contained page (inline CSS and SVG; no script, font or address outside the
/// file) with the setup, the summary table, four charts — accuracy and bytes over virtual time, the
/// final staleness histogram of each strategy, participation by device tier — and the runs' notes.
/// Apart from the wall-time figures the page is a function of the comparison: no timestamp is written.
/// </summary>
public static class HtmlReport
{
    private const string Css = """
        body { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #222; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; line-height: 1.4; }
        h1 { font-size: 1.5rem; margin-bottom: 0.5rem; }
        h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
        table { border-collapse: collapse; font-size: 0.85rem; }
        th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e5e5e5; text-align: left; vertical-align: top; }
        th { background: #f5f5f5; font-weight: 600; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        .scroll { overflow-x: auto; }
        figure { margin: 1rem 0; }
        figcaption { font-size: 0.85rem; color: #555; margin-top: 0.3rem; }
        .multiples { display: flex; flex-wrap: wrap; gap: 1rem; }
        .multiples figure { margin: 0; }
        svg { max-width: 100%; height: auto; }
        footer { margin-top: 3rem; font-size: 0.75rem; color: #888; }
        """;

    /// <summary>Writes the page.</summary>
    public static void Write(TextWriter writer, Comparison comparison)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Render(comparison));
    }

    /// <summary>Writes report.html (UTF-8 without BOM) at <paramref name="path"/>.</summary>
    public static void WriteFile(string path, Comparison comparison) =>
        File.WriteAllText(path, Render(comparison), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

    /// <summary>The page as text.</summary>
    public static string Render(Comparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        var html = new StringBuilder(64 * 1024);
        string title = XmlText.Escape(comparison.Title);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(title).Append("</title>\n<style>\n").Append(Css).Append("\n</style>\n</head>\n<body>\n")
            .Append("<h1>").Append(title).Append("</h1>\n");

        AppendSetup(html, comparison);
        AppendSummary(html, comparison);
        AppendReductions(html, comparison);
        AppendScaling(html, comparison);
        if (comparison.Runs.Count > 0)
        {
            AppendAccuracyChart(html, comparison);
            AppendBytesChart(html, comparison);
            if (comparison.Runs.Any(r => r.Points.Any(p => double.IsFinite(p.Epsilon)))) AppendPrivacyChart(html, comparison);
            AppendStaleness(html, comparison);
            AppendParticipation(html, comparison);
        }
        AppendNotes(html, comparison);
        html.Append("<footer>FTTE.NET report. Times are virtual (simulated) seconds unless marked as wall time.</footer>\n")
            .Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static void AppendSetup(StringBuilder html, Comparison comparison)
    {
        if (comparison.Setup.Count == 0)
            return;
        html.Append("<h2>Setup</h2>\n<table class=\"setup\">\n");
        foreach (KeyValuePair<string, string> entry in comparison.Setup)
            html.Append("<tr><th>").Append(XmlText.Escape(entry.Key)).Append("</th><td>").Append(XmlText.Escape(entry.Value)).Append("</td></tr>\n");
        html.Append("</table>\n");
    }

    private static void AppendSummary(StringBuilder html, Comparison comparison)
    {
        html.Append("<h2>Summary</h2>\n");
        if (comparison.Runs.Count == 0)
        {
            html.Append("<p>No runs.</p>\n");
            return;
        }
        html.Append("<div class=\"scroll\">\n<table class=\"summary\">\n<thead><tr>");
        foreach (SummaryColumn column in SummaryColumns.All)
            html.Append(column.Numeric ? "<th class=\"num\">" : "<th>").Append(XmlText.Escape(column.Header)).Append("</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (RunResult run in comparison.Runs)
        {
            html.Append("<tr>");
            foreach (SummaryColumn column in SummaryColumns.All)
                html.Append(column.Numeric ? "<td class=\"num\">" : "<td>").Append(XmlText.Escape(column.Cell(run.Summary))).Append("</td>");
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n</div>\n");
        double[] targets = [.. comparison.Runs.Select(r => r.Summary.TargetAccuracy).Distinct()];
        if (targets.Length == 1)
            html.Append("<p>Target accuracy ").Append(Invariant.Percent(targets[0], 2)).Append(".</p>\n");
    }

    private static void AppendReductions(StringBuilder html, Comparison comparison)
    {
        if (comparison.Reference is not { } reference || comparison.Runs.Count < 2) return;
        html.Append("<h2>").Append(XmlText.Escape(reference)).Append(" against the others</h2>\n<div class=\"scroll\">\n<table class=\"summary\">\n<thead><tr>")
            .Append("<th>against</th><th class=\"num\">time to target</th><th class=\"num\">peak memory</th><th class=\"num\">payload per task</th>")
            .Append("<th class=\"num\">payload to target</th><th class=\"num\">payload total</th><th class=\"num\">final accuracy Δ</th></tr></thead>\n<tbody>\n");
        foreach (var r in Reduction.Against(comparison, reference))
        {
            html.Append("<tr><td>").Append(XmlText.Escape(r.Other)).Append("</td>");
            foreach (double? v in new[] { r.TimeToTarget, r.PeakMemory, r.PayloadPerTask, r.PayloadToTarget, r.PayloadTotal })
                html.Append("<td class=\"num\">").Append(XmlText.Escape(TerminalTable.Less(v))).Append("</td>");
            html.Append("<td class=\"num\">").Append(r.AccuracyDifference >= 0 ? "+" : "").Append(Invariant.Fixed(100 * r.AccuracyDifference, 2)).Append(" pt</td></tr>\n");
        }
        html.Append("</tbody>\n</table>\n</div>\n<p>Reductions are 1 − reference/other: how much less the reference needs. Payload per task excludes ")
            .Append("the one-off first-contact downloads of frozen parts, which are counted in the totals.</p>\n");
    }

    private static void AppendScaling(StringBuilder html, Comparison comparison)
    {
        if (comparison.Scaling.Count == 0) return;
        var strategies = comparison.Scaling.Select(p => p.Strategy).Distinct().ToList();
        var series = strategies.Select(st => new LineSeries(st,
            [.. comparison.Scaling.Where(p => p.Strategy == st && p.TimeToTarget is not null).OrderBy(p => p.Devices)
                .Select(p => new ChartPoint(p.Devices, p.TimeToTarget!.Value / 60))])).ToList();
        string svg = LineChart.Render(series, new LineChartOptions
        {
            Title = "Time to target by fleet size",
            XLabel = "devices",
            YLabel = "virtual time to target (min)",
            Width = 760,
            Height = 400,
            YMin = 0,
        });
        AppendFigure(html, "Scaling", svg, "Each point is a separate run at that fleet size (same seed, same preset); a missing point did not reach the target.");
        html.Append("<div class=\"scroll\">\n<table class=\"summary\">\n<thead><tr><th>devices</th><th>strategy</th><th class=\"num\">time to target</th>")
            .Append("<th class=\"num\">final accuracy</th><th class=\"num\">peak memory</th><th class=\"num\">payload per task</th><th class=\"num\">bytes to target</th>")
            .Append(comparison.Reference is null ? "" : "<th class=\"num\">" + XmlText.Escape(comparison.Reference) + " time saving</th>")
            .Append("</tr></thead>\n<tbody>\n");
        foreach (var p in comparison.Scaling.OrderBy(p => p.Devices).ThenBy(p => strategies.IndexOf(p.Strategy)))
        {
            html.Append("<tr><td class=\"num\">").Append(Invariant.Integer(p.Devices)).Append("</td><td>").Append(XmlText.Escape(p.Strategy)).Append("</td>")
                .Append("<td class=\"num\">").Append(p.TimeToTarget is double t ? HumanFormat.Duration(t) : "not reached").Append("</td>")
                .Append("<td class=\"num\">").Append(Invariant.Percent(p.FinalAccuracy, 2)).Append("</td>")
                .Append("<td class=\"num\">").Append(XmlText.Escape(Ftte.Core.ByteSize.Format(p.PeakPlannedBytes))).Append("</td>")
                .Append("<td class=\"num\">").Append(p.PayloadPerTask is double b ? XmlText.Escape(Ftte.Core.ByteSize.Format((long)b)) : "—").Append("</td>")
                .Append("<td class=\"num\">").Append(p.BytesToTarget is double bt ? XmlText.Escape(Ftte.Core.ByteSize.Format((long)bt)) : "—").Append("</td>");
            if (comparison.Reference is { } reference)
            {
                string cell = p.Strategy == reference ? "" : TerminalTable.Less(Reduction.ScalingAgainst(comparison.Scaling, reference, p.Strategy)
                    .FirstOrDefault(x => x.Devices == p.Devices).TimeToTarget);
                html.Append("<td class=\"num\">").Append(XmlText.Escape(cell)).Append("</td>");
            }
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n</div>\n");
    }

    private static void AppendAccuracyChart(StringBuilder html, Comparison comparison)
    {
        double[] targets = [.. comparison.Runs.Select(r => r.Summary.TargetAccuracy).Where(double.IsFinite).Distinct()];
        string svg = OverTime(comparison, p => p.TestAccuracy, "Test accuracy over virtual time", "test accuracy", 400,
            targets.Length == 1 ? targets[0] : null, targets.Length == 1 ? "target " + Invariant.Percent(targets[0], 1) : "target");
        AppendFigure(html, "Accuracy", svg, "Accuracy on the test split at each evaluation; the dashed line is the target.");
    }

    private static void AppendBytesChart(StringBuilder html, Comparison comparison)
    {
        long maxBytes = comparison.Runs.SelectMany(r => r.Points).Select(p => p.BytesDown + p.BytesUp).DefaultIfEmpty(0).Max();
        (double divisor, string unit) = ByteUnit(maxBytes);
        string svg = OverTime(comparison, p => (p.BytesDown + p.BytesUp) / divisor, "Communication over virtual time", $"bytes down + up ({unit})", 400);
        AppendFigure(html, "Communication", svg, "Cumulative bytes sent to and received from devices.");
    }

    private static void AppendPrivacyChart(StringBuilder html, Comparison comparison)
    {
        string delta = comparison.Runs.Select(r => r.Summary.PrivacyDelta).FirstOrDefault(d => d is not null) is double d
            ? d.ToString("0.#e0", System.Globalization.CultureInfo.InvariantCulture) : "δ";
        // Only private runs, only their accounted points.
        string svg = OverTime(comparison, p => p.Epsilon, "Privacy spent over virtual time", $"ε at δ = {delta}", 360);
        AppendFigure(html, "Privacy", svg, "Client-level differential privacy spent so far (RDP accountant of the sampled Gaussian mechanism, one step per server step).");
    }

    /// <summary>One line per run of <paramref name="y"/> against virtual time; points where y is not finite (and runs with none) are left out.</summary>
    private static string OverTime(Comparison comparison, Func<MetricsPoint, double> y, string title, string yLabel, int height,
        double? targetY = null, string? targetLabel = null)
    {
        (double divisor, string unit) = TimeUnit(comparison);
        var series = comparison.Runs
            .Select(r => new LineSeries(r.Strategy, [.. r.Points.Where(p => double.IsFinite(y(p))).Select(p => new ChartPoint(p.Time / divisor, y(p)))]))
            .Where(s => s.Points.Count > 0).ToList();
        var options = new LineChartOptions
        {
            Title = title, XLabel = $"virtual time ({unit})", YLabel = yLabel, Width = 760, Height = height, YMin = 0,
            TargetY = targetY, TargetLabel = targetLabel ?? "target",
        };
        return LineChart.Render(series, options);
    }

    private static void AppendStaleness(StringBuilder html, Comparison comparison)
    {
        html.Append("<h2>Staleness</h2>\n<div class=\"multiples\">\n");
        for (int i = 0; i < comparison.Runs.Count; i++)
        {
            RunResult run = comparison.Runs[i];
            long[] counts = run.Points.Count > 0 ? run.Points[^1].StalenessHistogram : [];
            string svg = Histogram.Render(counts, new HistogramOptions { Title = run.Strategy, Color = Palette.Color(i) });
            html.Append("<figure>\n").Append(svg).Append("</figure>\n");
        }
        html.Append("</div>\n<p class=\"caption\">Accepted updates by staleness τ (server versions between a task's start and its update's arrival), at the end of each run; the last bin holds τ at or above it.</p>\n");
    }

    private static void AppendParticipation(StringBuilder html, Comparison comparison)
    {
        var tiers = comparison.Runs.SelectMany(r => r.Summary.Tiers).Select(t => t.Tier).Distinct(StringComparer.Ordinal).ToList();
        var series = comparison.Runs.Select(r => new BarSeries(r.Strategy, [.. tiers.Select(name =>
        {
            TierStats? t = r.Summary.Tiers.FirstOrDefault(x => x.Tier == name);
            return t is null || t.Devices == 0 ? double.NaN : (double)t.DevicesContributed / t.Devices;
        })])).ToList();
        string svg = BarChart.Render(tiers, series, new BarChartOptions
        {
            Title = "Participation by device tier",
            XLabel = "device tier",
            YLabel = "share of tier's devices contributing",
            Width = 760,
            Height = 380,
            YMax = 1,
        });
        AppendFigure(html, "Participation", svg, "Devices with at least one accepted update, as a share of the devices in their tier.");
    }

    private static void AppendNotes(StringBuilder html, Comparison comparison)
    {
        if (!comparison.Runs.Any(r => r.Summary.Notes.Count > 0))
            return;
        html.Append("<h2>Notes</h2>\n<ul class=\"notes\">\n");
        foreach (RunResult run in comparison.Runs)
        {
            foreach (string note in run.Summary.Notes)
                html.Append("<li><strong>").Append(XmlText.Escape(run.Strategy)).Append(":</strong> ").Append(XmlText.Escape(note)).Append("</li>\n");
        }
        html.Append("</ul>\n");
    }

    private static void AppendFigure(StringBuilder html, string heading, string svg, string caption) =>
        html.Append("<h2>").Append(XmlText.Escape(heading)).Append("</h2>\n<figure>\n").Append(svg)
            .Append("<figcaption>").Append(XmlText.Escape(caption)).Append("</figcaption>\n</figure>\n");

    // Axis unit from the longest run: hours past 2 h, minutes past 2 min, else seconds — so ticks stay nice numbers.
    private static (double Divisor, string Unit) TimeUnit(Comparison comparison)
    {
        double max = comparison.Runs.SelectMany(r => r.Points).Select(p => p.Time).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        return max >= 7200 ? (3600, "h") : max >= 120 ? (60, "min") : (1, "s");
    }

    private static (double Divisor, string Unit) ByteUnit(long max) =>
        max >= 2L << 30 ? (1L << 30, "GiB") : max >= 2L << 20 ? (1L << 20, "MiB") : max >= 2L << 10 ? (1L << 10, "KiB") : (1, "B");
}
