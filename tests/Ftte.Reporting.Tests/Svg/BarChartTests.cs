using System.Xml.Linq;
using Ftte.Reporting.Svg;

namespace Ftte.Reporting.Tests.Svg;

public sealed class BarChartTests
{
    [Fact]
    public void Render_ThreeCategoriesTwoSeries_SixBarsTwoLegendEntries()
    {
        // Act
        XDocument doc = SvgAssert.Parse(BarChart.Render(["sensor", "watch", "phone"],
            [new BarSeries("fedavg", [0.0, 0.5, 1.0]), new BarSeries("ftte", [0.75, 0.9, 1.0])], new BarChartOptions { YMax = 1 }));

        // Assert
        Assert.Equal(6, SvgAssert.ByClass(doc, "rect", "bar").Count);
        Assert.Equal(2, SvgAssert.GroupsByClass(doc, "legend-entry").Count);
        Assert.Equal(["sensor", "watch", "phone"], SvgAssert.Ticks(doc, "x-axis"));
        Assert.Equal(["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"], SvgAssert.Ticks(doc, "y-axis"));
    }

    [Fact]
    public void Render_Bars_HeightsProportional()
    {
        // Act
        XDocument doc = SvgAssert.Parse(BarChart.Render(["a", "b"], [new BarSeries("s", [1.0, 0.5])], new BarChartOptions { YMax = 1 }));

        // Assert
        double[] heights = [.. SvgAssert.ByClass(doc, "rect", "bar").Select(r => double.Parse(r.Attribute("height")!.Value, System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(heights[0] / 2, heights[1], 1);
    }

    [Fact]
    public void Render_NaNValueAndShortSeries_BarsLeftOut()
    {
        // Act
        XDocument doc = SvgAssert.Parse(BarChart.Render(["a", "b", "c"], [new BarSeries("s", [1.0, double.NaN])]));

        // Assert
        Assert.Single(SvgAssert.ByClass(doc, "rect", "bar"));
        SvgAssert.AllCoordinatesFinite(doc);
    }

    [Fact]
    public void Render_NoCategories_NoDataAndWellFormed()
    {
        // Act
        XDocument doc = SvgAssert.Parse(BarChart.Render([], []));

        // Assert
        Assert.Empty(SvgAssert.ByClass(doc, "rect", "bar"));
        Assert.Single(SvgAssert.ByClass(doc, "text", "no-data"));
    }

    [Fact]
    public void Render_AllZero_FiniteCoordinates()
    {
        // Act
        XDocument doc = SvgAssert.Parse(BarChart.Render(["a", "b"], [new BarSeries("s", [0.0, 0.0])]));

        // Assert
        SvgAssert.AllCoordinatesFinite(doc);
        Assert.Equal(2, SvgAssert.ByClass(doc, "rect", "bar").Count);
    }
}
