using Ftte.Reporting.Internal;
using Ftte.Reporting.Svg.Internal;

namespace Ftte.Reporting.Svg;

/// <summary>Options of <see cref="Histogram"/>; each default is stated.</summary>
public sealed class HistogramOptions
{
    /// <summary>Title above the chart; default none.</summary>
    public string? Title { get; init; }
    /// <summary>Axis labels; default "staleness τ" and "updates".</summary>
    public string XLabel { get; init; } = "staleness τ";
    public string YLabel { get; init; } = "updates";
    /// <summary>Size in px; default 320 × 220 (small multiples, one per strategy).</summary>
    public int Width { get; init; } = 320;
    public int Height { get; init; } = 220;
    /// <summary>Bar colour; default the first palette colour.</summary>
    public string Color { get; init; } = Palette.Color(0);
    /// <summary>True (default): the last bin counts every value at or above its index, and is labelled "≥k".</summary>
    public bool LastBinIsOpen { get; init; } = true;
}

/// <summary>
/// Counts per integer bin 0, 1, 2…, one bar per bin (a bin with count 0 has a bar of height 0), as for
/// <see cref="MetricsPoint.StalenessHistogram"/>.
/// </summary>
public static class Histogram
{
    public static string Render(IReadOnlyList<long> counts, HistogramOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(counts);
        options ??= new HistogramOptions();
        ChartFrame.Validate(options.Width, options.Height);

        long max = counts.Count == 0 ? 0 : counts.Max();
        if (counts.Any(c => c < 0))
            throw new ArgumentException("A histogram count is negative; counts must be 0 or more.", nameof(counts));
        NiceScale y = NiceScale.Create(0, Math.Max(max, 1));
        if (y.Step < 1)
            y = NiceScale.Create(0, Math.Max(max, 5)); // whole updates: no 0.2 ticks

        var labels = new List<string>(counts.Count);
        for (int i = 0; i < counts.Count; i++)
            labels.Add(options.LastBinIsOpen && i == counts.Count - 1 && counts.Count > 1 ? "≥" + Invariant.Integer(i) : Invariant.Integer(i));

        var b = new SvgBuilder(options.Width, options.Height, options.Title);
        PlotArea area = ChartFrame.Layout(b, options.Width, options.Height, options.Title, [], y, options.XLabel, options.YLabel);
        ChartFrame.DrawYAxis(b, area, y);
        b.OpenGroup("bars");
        if (counts.Count > 0)
        {
            double slot = area.Width / counts.Count;
            double zero = area.Y(0);
            for (int i = 0; i < counts.Count; i++)
            {
                double top = area.Y(y.Fraction(counts[i]));
                b.Rect(area.Left + i * slot + slot * 0.05, top, slot * 0.9, zero - top, options.Color, "bar",
                    $"τ {labels[i]}: {Invariant.Integer(counts[i])}");
            }
        }
        b.CloseGroup();
        ChartFrame.DrawCategoryAxis(b, area, labels);
        if (max == 0)
            ChartFrame.DrawNoData(b, area);
        return b.Finish();
    }
}
