using System.Xml.Linq;

namespace Ftte.Reporting.Tests.Svg;

/// <summary>Parses SVG text as XML and finds elements by role (their class attribute).</summary>
internal static class SvgAssert
{
    public static readonly XNamespace Ns = "http://www.w3.org/2000/svg";

    public static XDocument Parse(string svg)
    {
        XDocument doc = XDocument.Parse(svg);
        Assert.Equal(Ns + "svg", doc.Root!.Name);
        return doc;
    }

    public static List<XElement> ByClass(XDocument doc, string element, string cssClass) =>
        [.. doc.Descendants(Ns + element).Where(e => (string?)e.Attribute("class") == cssClass)];

    public static List<XElement> GroupsByClass(XDocument doc, string cssClass) => ByClass(doc, "g", cssClass);

    /// <summary>Texts of the tick labels of one axis group ("x-axis" or "y-axis").</summary>
    public static List<string> Ticks(XDocument doc, string axis) =>
        [.. GroupsByClass(doc, axis).Single().Elements(Ns + "text").Where(e => (string?)e.Attribute("class") == "tick").Select(e => e.Value)];

    /// <summary>Every number in every coordinate attribute is finite.</summary>
    public static void AllCoordinatesFinite(XDocument doc)
    {
        string[] names = ["x", "y", "x1", "x2", "y1", "y2", "width", "height", "cx", "cy"];
        foreach (XAttribute a in doc.Descendants().Attributes().Where(a => names.Contains(a.Name.LocalName)))
            Assert.True(double.TryParse(a.Value, System.Globalization.CultureInfo.InvariantCulture, out double v) && double.IsFinite(v), $"{a.Parent!.Name.LocalName}.{a.Name} = '{a.Value}'");
        foreach (XAttribute a in doc.Descendants().Attributes("points"))
            Assert.DoesNotContain("NaN", a.Value, StringComparison.Ordinal);
    }
}
