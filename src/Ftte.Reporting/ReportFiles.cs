namespace Ftte.Reporting;

/// <summary>The three files of a comparison, written side by side in one directory.</summary>
public static class ReportFiles
{
    public const string MetricsFileName = "metrics.csv";
    public const string SummaryFileName = "summary.json";
    public const string HtmlFileName = "report.html";

    /// <summary>
    /// Writes metrics.csv (without the wall-clock column, so equal seeds give identical files — see
    /// <see cref="MetricsCsv"/>), summary.json and report.html into <paramref name="directory"/>, creating it
    /// if needed, and returns the three paths in that order.
    /// </summary>
    public static IReadOnlyList<string> Write(string directory, Comparison comparison)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(comparison);
        Directory.CreateDirectory(directory);
        string metrics = Path.Combine(directory, MetricsFileName);
        string summary = Path.Combine(directory, SummaryFileName);
        string html = Path.Combine(directory, HtmlFileName);
        MetricsCsv.WriteFile(metrics, comparison, includeWallClock: false);
        SummaryJson.WriteFile(summary, comparison);
        HtmlReport.WriteFile(html, comparison);
        return [metrics, summary, html];
    }
}
