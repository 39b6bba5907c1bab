using Ftte.Reporting.Internal;

namespace Ftte.Reporting;

/// <summary>
/// The summary table of a comparison as monospace text for a terminal: the same columns as the HTML
/// report's summary, compact headers, numbers right-aligned, fitted to a width by <see cref="TextTable"/>.
/// </summary>
public static class TerminalTable
{
    /// <summary>Width used when none is given and the console's cannot be read (output redirected): 120.</summary>
    public const int DefaultWidth = 120;

    /// <summary>The table as a <see cref="TextTable"/>, one row per summary, for callers that add columns or render it themselves.</summary>
    public static TextTable Build(IEnumerable<RunSummary> summaries)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        var table = new TextTable(
            [.. SummaryColumns.All.Select(c => c.ShortHeader)],
            [.. SummaryColumns.All.Select(c => c.Numeric ? ColumnAlignment.Right : ColumnAlignment.Left)]);
        foreach (RunSummary s in summaries)
            table.AddRow([.. SummaryColumns.All.Select(c => c.Cell(s))]);
        return table;
    }

    /// <param name="maxWidth">Line width to fit; 0 (default): the console's width, or <see cref="DefaultWidth"/> when redirected.</param>
    public static string Render(IEnumerable<RunSummary> summaries, int maxWidth = 0) =>
        Build(summaries).Render(maxWidth > 0 ? maxWidth : ConsoleWidth());

    /// <summary>The summary table and, when the comparison has a reference, the table of its reductions.</summary>
    public static string Render(Comparison comparison, int maxWidth = 0)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        int width = maxWidth > 0 ? maxWidth : ConsoleWidth();
        string text = Render(comparison.Runs.Select(r => r.Summary), maxWidth);
        if (comparison.Reference is { } reference) text += "\n" + ReductionTable(comparison, reference).Render(width);
        if (comparison.Scaling.Count > 0) text += "\n" + ScalingTable(comparison).Render(width);
        return text;
    }

    /// <summary>Time to target per fleet size and strategy, and the reference's saving against each other strategy.</summary>
    public static TextTable ScalingTable(Comparison comparison)
    {
        var strategies = comparison.Scaling.Select(p => p.Strategy).Distinct().ToList();
        var others = comparison.Reference is { } r ? strategies.Where(s => s != r).ToList() : [];
        var table = new TextTable(["devices", .. strategies.Select(s => s + " to target"), .. others.Select(o => $"vs {o}")],
            [.. Enumerable.Repeat(ColumnAlignment.Right, 1 + strategies.Count + others.Count)]);
        foreach (int devices in comparison.Scaling.Select(p => p.Devices).Distinct().Order())
        {
            var row = new List<string> { Internal.Invariant.Integer(devices) };
            foreach (string s in strategies)
                row.Add(comparison.Scaling.FirstOrDefault(p => p.Devices == devices && p.Strategy == s) is { TimeToTarget: double t } ? HumanFormat.Duration(t) : "—");
            foreach (string o in others)
                row.Add(Less(Reduction.ScalingAgainst(comparison.Scaling, comparison.Reference!, o).FirstOrDefault(x => x.Devices == devices).TimeToTarget));
            table.AddRow(row);
        }
        return table;
    }

    /// <summary>One row per other run: how much less the reference needs (1 − reference/other).</summary>
    public static TextTable ReductionTable(Comparison comparison, string reference)
    {
        var table = new TextTable([$"{reference} against", "time to target", "peak memory", "payload/task", "payload to target", "payload total", "final acc. Δ"],
            [ColumnAlignment.Left, ColumnAlignment.Right, ColumnAlignment.Right, ColumnAlignment.Right, ColumnAlignment.Right, ColumnAlignment.Right, ColumnAlignment.Right]);
        foreach (var r in Reduction.Against(comparison, reference))
            table.AddRow(r.Other, Less(r.TimeToTarget), Less(r.PeakMemory), Less(r.PayloadPerTask), Less(r.PayloadToTarget), Less(r.PayloadTotal),
                (r.AccuracyDifference >= 0 ? "+" : "") + Internal.Invariant.Fixed(100 * r.AccuracyDifference, 2) + " pt");
        return table;
    }

    /// <summary>"81.0% less", "12.5% more", or "—".</summary>
    internal static string Less(double? reduction) => reduction switch
    {
        null => "—",
        >= 0 => Internal.Invariant.Percent(reduction.Value) + " less",
        _ => Internal.Invariant.Percent(-reduction.Value) + " more",
    };

    public static void Write(TextWriter writer, Comparison comparison, int maxWidth = 0)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Render(comparison, maxWidth));
    }

    private static int ConsoleWidth()
    {
        if (Console.IsOutputRedirected)
            return DefaultWidth;
        try
        {
            int width = Console.WindowWidth;
            return width > 20 ? width : DefaultWidth;
        }
        catch (IOException)
        {
            return DefaultWidth;
        }
    }
}
