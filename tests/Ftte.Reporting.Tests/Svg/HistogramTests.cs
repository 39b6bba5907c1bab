using System.Xml.Linq;
using Ftte.Reporting.Svg;

namespace Ftte.Reporting.Tests.Svg;

public sealed class HistogramTests
{
    [Fact]
    public void Render_FiveBins_FiveBarsLastLabelledOpen()
    {
        // Act
        XDocument doc = SvgAssert.Parse(Histogram.Render([40, 25, 10, 0, 3]));

        // Assert
        Assert.Equal(5, SvgAssert.ByClass(doc, "rect", "bar").Count);
        Assert.Equal(["0", "1", "2", "3", "≥4"], SvgAssert.Ticks(doc, "x-axis"));
        Assert.Equal(["0", "10", "20", "30", "40"], SvgAssert.Ticks(doc, "y-axis"));
    }

    [Fact]
    public void Render_SmallCounts_WholeNumberTicks()
    {
        // Act
        XDocument doc = SvgAssert.Parse(Histogram.Render([1, 2]));

        // Assert
        Assert.All(SvgAssert.Ticks(doc, "y-axis"), t => Assert.DoesNotContain(".", t));
    }

    [Fact]
    public void Render_Empty_NoDataAndWellFormed()
    {
        // Act
        XDocument doc = SvgAssert.Parse(Histogram.Render([]));

        // Assert
        Assert.Empty(SvgAssert.ByClass(doc, "rect", "bar"));
        Assert.Single(SvgAssert.ByClass(doc, "text", "no-data"));
        SvgAssert.AllCoordinatesFinite(doc);
    }

    [Fact]
    public void Render_AllZero_NoDataAndFinite()
    {
        // Act
        XDocument doc = SvgAssert.Parse(Histogram.Render([0, 0, 0]));

        // Assert
        Assert.Single(SvgAssert.ByClass(doc, "text", "no-data"));
        SvgAssert.AllCoordinatesFinite(doc);
    }

    [Fact]
    public void Render_Colour_UsedForBars()
    {
        // Act
        XDocument doc = SvgAssert.Parse(Histogram.Render([3, 1], new HistogramOptions { Color = Palette.Color(2) }));

        // Assert
        Assert.All(SvgAssert.ByClass(doc, "rect", "bar"), r => Assert.Equal("#009E73", r.Attribute("fill")!.Value));
    }

    [Fact]
    public void Render_NegativeCount_Throws()
    {
        Assert.Throws<ArgumentException>(() => Histogram.Render([1, -1]));
    }
}
