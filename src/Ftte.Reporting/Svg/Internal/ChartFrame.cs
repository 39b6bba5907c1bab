namespace Ftte.Reporting.Svg.Internal;

/// <summary>One legend entry: a short line (line charts) or a box (bars) in the series' colour.</summary>
internal readonly record struct LegendEntry(string Name, string Color, string? Dash, bool Box);

/// <summary>The plot rectangle inside a chart, in SVG pixels (y grows downwards).</summary>
internal readonly record struct PlotArea(double Left, double Top, double Width, double Height)
{
    public double Right => Left + Width;
    public double Bottom => Top + Height;
    public double X(double fraction) => Left + fraction * Width;
    public double Y(double fraction) => Bottom - fraction * Height;
}

/// <summary>
/// What every chart shares: title, legend (wrapped into rows), the plot area left after margins, the y
/// axis with grid lines, a numeric or categorical x axis and axis labels. Sizes come from a rough
/// character width (<see cref="SvgBuilder.CharWidth"/>), since an SVG file carries no font metrics.
/// </summary>
internal static class ChartFrame
{
    private const double Pad = 8;
    private const double TitleHeight = 22;
    private const double LegendRowHeight = 18;
    private const double TickLabelHeight = 18;
    private const double AxisLabelHeight = 18;
    public const string AxisColor = "#444444";
    public const string GridColor = "#e3e3e3";

    public static void Validate(int width, int height)
    {
        if (width < 120 || height < 100)
            throw new ArgumentOutOfRangeException(nameof(width), $"A chart of {width}×{height} px is too small to draw; use at least 120×100.");
    }

    /// <summary>Draws title and legend, and returns the plot area left for the data.</summary>
    public static PlotArea Layout(SvgBuilder b, double width, double height, string? title, IReadOnlyList<LegendEntry> legend,
        NiceScale y, string xLabel, string yLabel)
    {
        double top = Pad;
        if (!string.IsNullOrEmpty(title))
        {
            b.Text(width / 2, top + 14, title, "chart-title", anchor: "middle", size: 14, bold: true);
            top += TitleHeight;
        }
        top += DrawLegend(b, legend, Pad, top, width - 2 * Pad);

        double tickLabelWidth = y.Ticks().Max(t => SvgBuilder.TextWidth(y.Format(t)));
        double left = Pad + (string.IsNullOrEmpty(yLabel) ? 0 : AxisLabelHeight) + tickLabelWidth + 6;
        double bottom = Pad + TickLabelHeight + (string.IsNullOrEmpty(xLabel) ? 0 : AxisLabelHeight);
        double right = Pad + 12; // room for the last x tick label's overhang
        top += Pad;
        var area = new PlotArea(left, top, Math.Max(10, width - left - right), Math.Max(10, height - top - bottom));

        if (!string.IsNullOrEmpty(yLabel))
            b.Text(Pad + 12, area.Top + area.Height / 2, yLabel, "axis-label", anchor: "middle", rotate: -90);
        if (!string.IsNullOrEmpty(xLabel))
            b.Text(area.Left + area.Width / 2, height - Pad - 4, xLabel, "axis-label", anchor: "middle");
        return area;
    }

    /// <summary>Horizontal grid lines with their values at the left.</summary>
    public static void DrawYAxis(SvgBuilder b, PlotArea area, NiceScale y)
    {
        b.OpenGroup("y-axis");
        foreach (double t in y.Ticks())
        {
            double py = area.Y(y.Fraction(t));
            b.Line(area.Left, py, area.Right, py, GridColor, 1, "grid");
            b.Text(area.Left - 6, py + 4, y.Format(t), "tick", anchor: "end");
        }
        b.Line(area.Left, area.Top, area.Left, area.Bottom, AxisColor, 1, "axis");
        b.CloseGroup();
    }

    /// <summary>Vertical ticks with values under the plot.</summary>
    public static void DrawXAxis(SvgBuilder b, PlotArea area, NiceScale x)
    {
        b.OpenGroup("x-axis");
        foreach (double t in x.Ticks())
        {
            double px = area.X(x.Fraction(t));
            b.Line(px, area.Top, px, area.Bottom, GridColor, 1, "grid");
            b.Text(px, area.Bottom + 15, x.Format(t), "tick", anchor: "middle");
        }
        b.Line(area.Left, area.Bottom, area.Right, area.Bottom, AxisColor, 1, "axis");
        b.CloseGroup();
    }

    /// <summary>Category names centred under their slots; every k-th only when they would overlap.</summary>
    public static void DrawCategoryAxis(SvgBuilder b, PlotArea area, IReadOnlyList<string> categories)
    {
        b.OpenGroup("x-axis");
        if (categories.Count > 0)
        {
            double slot = area.Width / categories.Count;
            double widest = categories.Max(c => SvgBuilder.TextWidth(c)) + 6;
            int every = Math.Max(1, (int)Math.Ceiling(widest / slot));
            for (int i = 0; i < categories.Count; i += every)
                b.Text(area.Left + (i + 0.5) * slot, area.Bottom + 15, categories[i], "tick", anchor: "middle");
        }
        b.Line(area.Left, area.Bottom, area.Right, area.Bottom, AxisColor, 1, "axis");
        b.CloseGroup();
    }

    public static void DrawNoData(SvgBuilder b, PlotArea area) =>
        b.Text(area.Left + area.Width / 2, area.Top + area.Height / 2, "no data", "no-data", anchor: "middle", fill: "#888888");

    // Entries flow left to right and wrap; returns the height used.
    private static double DrawLegend(SvgBuilder b, IReadOnlyList<LegendEntry> legend, double left, double top, double maxWidth)
    {
        if (legend.Count == 0)
            return 0;
        b.OpenGroup("legend");
        double x = left, y = top;
        foreach (LegendEntry entry in legend)
        {
            double w = 22 + SvgBuilder.TextWidth(entry.Name) + 14;
            if (x > left && x + w > left + maxWidth)
            {
                x = left;
                y += LegendRowHeight;
            }
            b.OpenGroup("legend-entry");
            if (entry.Box)
                b.Rect(x, y + 4, 14, 10, entry.Color, "swatch");
            else
                b.Line(x, y + 9, x + 16, y + 9, entry.Color, 2.5, "swatch", entry.Dash);
            b.Text(x + 22, y + 13, entry.Name, "legend-label");
            b.CloseGroup();
            x += w;
        }
        b.CloseGroup();
        return y - top + LegendRowHeight;
    }
}
