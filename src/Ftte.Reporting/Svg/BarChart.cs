using Ftte.Reporting.Internal;
using Ftte.Reporting.Svg.Internal;

namespace Ftte.Reporting.Svg;

/// <summary>A named series with one value per category of a <see cref="BarChart"/>.</summary>
public sealed record BarSeries(string Name, IReadOnlyList<double> Values);

/// <summary>Options of <see cref="BarChart"/>; each default is stated.</summary>
public sealed class BarChartOptions
{
    /// <summary>Title above the chart; default none.</summary>
    public string? Title { get; init; }
    /// <summary>Axis labels; default empty.</summary>
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    /// <summary>Size in px; default 640 × 360.</summary>
    public int Width { get; init; } = 640;
    public int Height { get; init; } = 360;
    /// <summary>A value the y axis must reach (e.g. 1 for shares); default null: the data. Zero is always included.</summary>
    public double? YMax { get; init; }
    /// <summary>Decimals of the value in each bar's tooltip; default 3.</summary>
    public int ValueDecimals { get; init; } = 3;
}

/// <summary>
/// Grouped bars: one group per category, one bar per series inside it, bars rising from zero (falling
/// for negative values). A non-finite value leaves its bar out; a series shorter than the category
/// list has no bars for the missing categories.
/// </summary>
public static class BarChart
{
    public static string Render(IReadOnlyList<string> categories, IReadOnlyList<BarSeries> series, BarChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(series);
        options ??= new BarChartOptions();
        ChartFrame.Validate(options.Width, options.Height);

        var values = new List<double> { 0 };
        foreach (BarSeries s in series)
            values.AddRange(s.Values.Take(categories.Count).Where(double.IsFinite));
        if (options.YMax is double ymax && double.IsFinite(ymax))
            values.Add(ymax);
        NiceScale y = NiceScale.Create(values.Min(), values.Max());
        bool any = values.Count > 1 && categories.Count > 0;

        var legend = series.Select((s, i) => new LegendEntry(s.Name, Palette.Color(i), null, Box: true)).ToList();
        var b = new SvgBuilder(options.Width, options.Height, options.Title);
        PlotArea area = ChartFrame.Layout(b, options.Width, options.Height, options.Title, legend, y, options.XLabel, options.YLabel);
        ChartFrame.DrawYAxis(b, area, y);

        b.OpenGroup("bars");
        if (categories.Count > 0 && series.Count > 0)
        {
            double slot = area.Width / categories.Count;
            double groupWidth = slot * 0.8;
            double barWidth = groupWidth / series.Count;
            double zero = area.Y(y.Fraction(0));
            for (int c = 0; c < categories.Count; c++)
            {
                double groupLeft = area.Left + c * slot + (slot - groupWidth) / 2;
                for (int s = 0; s < series.Count; s++)
                {
                    if (c >= series[s].Values.Count || !double.IsFinite(series[s].Values[c]))
                        continue;
                    double v = series[s].Values[c];
                    double top = area.Y(y.Fraction(v));
                    string tooltip = $"{series[s].Name} — {categories[c]}: {Invariant.Fixed(v, options.ValueDecimals)}";
                    b.Rect(groupLeft + s * barWidth, Math.Min(top, zero), barWidth * 0.92, Math.Abs(zero - top), Palette.Color(s), "bar", tooltip);
                }
            }
        }
        b.CloseGroup();
        ChartFrame.DrawCategoryAxis(b, area, categories);
        if (!any)
            ChartFrame.DrawNoData(b, area);
        return b.Finish();
    }
}
