using System.Xml.Linq;
using Ftte.Reporting.Svg;

namespace Ftte.Reporting.Tests.Svg;

public sealed class LineChartTests
{
    private static LineSeries Series(string name, params double[] ys) =>
        new(name, [.. ys.Select((y, i) => new ChartPoint(i * 10, y))]);

    [Fact]
    public void Render_ThreeSeries_OnePolylineAndLegendEntryEach()
    {
        // Act
        XDocument doc = SvgAssert.Parse(LineChart.Render([Series("fedavg", 0.1, 0.5, 0.8), Series("fedbuff", 0.2, 0.6), Series("ftte", 0.3, 0.7, 0.9, 0.95)]));

        // Assert
        Assert.Equal(3, SvgAssert.ByClass(doc, "polyline", "series-line").Count);
        List<XElement> legend = SvgAssert.GroupsByClass(doc, "legend-entry");
        Assert.Equal(["fedavg", "fedbuff", "ftte"], legend.Select(e => e.Elements(SvgAssert.Ns + "text").Single().Value));
        Assert.Equal(4, SvgAssert.ByClass(doc, "polyline", "series-line")[2].Attribute("points")!.Value.Split(' ').Length);
    }

    [Fact]
    public void Render_Accuracies_NiceYTicks()
    {
        // Act
        XDocument doc = SvgAssert.Parse(LineChart.Render([Series("a", 0.12, 0.55, 0.93)], new LineChartOptions { YMin = 0 }));

        // Assert
        Assert.Equal(["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"], SvgAssert.Ticks(doc, "y-axis"));
        Assert.Equal(["0", "5", "10", "15", "20"], SvgAssert.Ticks(doc, "x-axis"));
    }

    [Fact]
    public void Render_Target_DashedLineAndLabel()
    {
        // Act
        XDocument doc = SvgAssert.Parse(LineChart.Render([Series("a", 0.1, 0.5)], new LineChartOptions { TargetY = 0.9, TargetLabel = "target 90%" }));

        // Assert
        XElement target = SvgAssert.ByClass(doc, "line", "target").Single();
        Assert.NotNull(target.Attribute("stroke-dasharray"));
        Assert.Equal("target 90%", SvgAssert.ByClass(doc, "text", "target-label").Single().Value);
        Assert.Contains("1.0", SvgAssert.Ticks(doc, "y-axis")); // the axis reaches the target
    }

    [Fact]
    public void Render_NoSeries_WellFormedWithNoDataText()
    {
        // Act
        XDocument doc = SvgAssert.Parse(LineChart.Render([]));

        // Assert
        Assert.Empty(doc.Descendants(SvgAssert.Ns + "polyline"));
        Assert.Single(SvgAssert.ByClass(doc, "text", "no-data"));
        SvgAssert.AllCoordinatesFinite(doc);
    }

    [Fact]
    public void Render_SeriesWithoutPoints_LegendOnly()
    {
        // Act
        XDocument doc = SvgAssert.Parse(LineChart.Render([new LineSeries("empty", []), Series("a", 1, 2)]));

        // Assert
        Assert.Single(SvgAssert.ByClass(doc, "polyline", "series-line"));
        Assert.Equal(2, SvgAssert.GroupsByClass(doc, "legend-entry").Count);
    }

    [Fact]
    public void Render_SinglePoint_DotAndFiniteAxes()
    {
        // Act
        XDocument doc = SvgAssert.Parse(LineChart.Render([new LineSeries("one", [new ChartPoint(42, 0.5)])]));

        // Assert
        Assert.Single(SvgAssert.ByClass(doc, "circle", "series-point"));
        Assert.Empty(doc.Descendants(SvgAssert.Ns + "polyline"));
        SvgAssert.AllCoordinatesFinite(doc);
    }

    [Fact]
    public void Render_ConstantValues_FiniteCoordinatesAndSeveralTicks()
    {
        // Act
        XDocument doc = SvgAssert.Parse(LineChart.Render([Series("flat", 0.7, 0.7, 0.7)]));

        // Assert
        SvgAssert.AllCoordinatesFinite(doc);
        Assert.True(SvgAssert.Ticks(doc, "y-axis").Count >= 3);
    }

    [Fact]
    public void Render_NaNPoints_Skipped()
    {
        // Act
        XDocument doc = SvgAssert.Parse(LineChart.Render([Series("gaps", 0.1, double.NaN, 0.3, double.PositiveInfinity, 0.5)]));

        // Assert
        SvgAssert.AllCoordinatesFinite(doc);
        Assert.Equal(3, SvgAssert.ByClass(doc, "polyline", "series-line").Single().Attribute("points")!.Value.Split(' ').Length);
    }

    [Fact]
    public void Render_MarkupInNames_Escaped()
    {
        // Act
        string svg = LineChart.Render([Series("<b>&\"x\"\u0001", 1, 2)], new LineChartOptions { Title = "a < b & c" });

        // Assert
        XDocument doc = SvgAssert.Parse(svg);
        Assert.Equal("<b>&\"x\"\uFFFD", SvgAssert.GroupsByClass(doc, "legend-entry").Single().Elements(SvgAssert.Ns + "text").Single().Value);
        Assert.Equal("a < b & c", doc.Root!.Element(SvgAssert.Ns + "title")!.Value);
    }

    [Fact]
    public void Render_EightSeries_ColoursRepeatWithDash()
    {
        // Act
        XDocument doc = SvgAssert.Parse(LineChart.Render([.. Enumerable.Range(0, 8).Select(i => Series($"s{i}", i, i + 1))]));

        // Assert
        List<XElement> lines = SvgAssert.ByClass(doc, "polyline", "series-line");
        Assert.Equal(7, lines.Take(7).Select(l => l.Attribute("stroke")!.Value).Distinct().Count());
        Assert.Null(lines[0].Attribute("stroke-dasharray"));
        Assert.NotNull(lines[7].Attribute("stroke-dasharray"));
    }

    [Fact]
    public void Render_SameInput_SameText()
    {
        Assert.Equal(LineChart.Render([Series("a", 0.1, 1.0 / 3)]), LineChart.Render([Series("a", 0.1, 1.0 / 3)]));
    }

    [Fact]
    public void Render_TooSmall_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LineChart.Render([], new LineChartOptions { Width = 10 }));
    }
}
