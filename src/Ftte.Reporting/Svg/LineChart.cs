using Ftte.Reporting.Svg.Internal;

namespace Ftte.Reporting.Svg;

/// <summary>A point of a line series.</summary>
public readonly record struct ChartPoint(double X, double Y);

/// <summary>A named series of points, drawn in the given order (sort by x for a time series).</summary>
public sealed record LineSeries(string Name, IReadOnlyList<ChartPoint> Points);

/// <summary>Options of <see cref="LineChart"/>; each default is stated.</summary>
public sealed class LineChartOptions
{
    /// <summary>Title above the chart; default none.</summary>
    public string? Title { get; init; }
    /// <summary>Axis labels; default empty (no label).</summary>
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    /// <summary>Size in px; default 640 × 360.</summary>
    public int Width { get; init; } = 640;
    public int Height { get; init; } = 360;
    /// <summary>Values the axes must include besides the data (e.g. YMin = 0); default null: the data alone.
    /// Data outside them still widens the axis.</summary>
    public double? XMin { get; init; }
    public double? XMax { get; init; }
    public double? YMin { get; init; }
    public double? YMax { get; init; }
    /// <summary>A dashed horizontal reference line (e.g. the target accuracy); default none.</summary>
    public double? TargetY { get; init; }
    /// <summary>Text beside the reference line; default "target".</summary>
    public string TargetLabel { get; init; } = "target";
}

/// <summary>
/// Line chart on linear axes with nice ticks, one colour (and past seven series, one dash pattern) per
/// series, a legend, and an optional reference line. Points with a non-finite coordinate are skipped;
/// a series left with one point is drawn as a dot, one left with none only in the legend.
/// </summary>
public static class LineChart
{
    public static string Render(IReadOnlyList<LineSeries> series, LineChartOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        options ??= new LineChartOptions();
        ChartFrame.Validate(options.Width, options.Height);

        List<ChartPoint>[] finite = series.Select(s => s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList()).ToArray();
        bool any = finite.Any(f => f.Count > 0);

        var xs = finite.SelectMany(f => f.Select(p => p.X)).Concat(Given(options.XMin, options.XMax)).ToList();
        var ys = finite.SelectMany(f => f.Select(p => p.Y)).Concat(Given(options.YMin, options.YMax))
            .Concat(options.TargetY is double t && double.IsFinite(t) ? [t] : []).ToList();
        NiceScale xScale = xs.Count > 0 ? NiceScale.Create(xs.Min(), xs.Max()) : NiceScale.Create(0, 1);
        NiceScale yScale = ys.Count > 0 ? NiceScale.Create(ys.Min(), ys.Max()) : NiceScale.Create(0, 1);

        var legend = series.Select((s, i) => new LegendEntry(s.Name, Palette.Color(i), Palette.Dash(i), Box: false)).ToList();
        var b = new SvgBuilder(options.Width, options.Height, options.Title);
        PlotArea area = ChartFrame.Layout(b, options.Width, options.Height, options.Title, legend, yScale, options.XLabel, options.YLabel);
        ChartFrame.DrawYAxis(b, area, yScale);
        ChartFrame.DrawXAxis(b, area, xScale);

        if (options.TargetY is double target && double.IsFinite(target))
        {
            double py = area.Y(yScale.Fraction(target));
            b.Line(area.Left, py, area.Right, py, "#555555", 1.5, "target", "5 4");
            // At the left, where learning curves are usually still low.
            b.Text(area.Left + 6, py - 5, options.TargetLabel, "target-label", fill: "#555555", halo: true);
        }

        b.OpenGroup("series");
        for (int i = 0; i < finite.Length; i++)
        {
            List<ChartPoint> points = finite[i];
            var pixels = points.Select(p => (area.X(xScale.Fraction(p.X)), area.Y(yScale.Fraction(p.Y)))).ToList();
            if (pixels.Count == 1)
                b.Circle(pixels[0].Item1, pixels[0].Item2, 3.5, Palette.Color(i), "series-point", series[i].Name);
            else if (pixels.Count > 1)
                b.Polyline(pixels, Palette.Color(i), 2, "series-line", Palette.Dash(i), series[i].Name);
        }
        b.CloseGroup();

        if (!any)
            ChartFrame.DrawNoData(b, area);
        return b.Finish();
    }

    private static IEnumerable<double> Given(double? a, double? b)
    {
        if (a is double x && double.IsFinite(x))
            yield return x;
        if (b is double y && double.IsFinite(y))
            yield return y;
    }
}
