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

    public static string Render(Comparison comparison, int maxWidth = 0)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        return Render(comparison.Runs.Select(r => r.Summary), maxWidth);
    }

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
