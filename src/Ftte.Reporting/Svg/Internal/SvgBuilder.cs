using System.Text;
using Ftte.Reporting.Internal;

namespace Ftte.Reporting.Svg.Internal;

/// <summary>
/// Writes SVG elements as text: coordinates with at most two decimals, invariant culture, every text
/// XML-escaped. Elements carry a <c>class</c> naming their role (bar, series, legend-entry, tick…) so
/// readers and tests can find them; styling is by presentation attributes, so a file stands alone.
/// </summary>
internal sealed class SvgBuilder
{
    public const string FontFamily = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
    public const double FontSize = 12;

    /// <summary>A rough width of one character at <see cref="FontSize"/>, for layout without font metrics.</summary>
    public const double CharWidth = 7;

    private readonly StringBuilder _sb = new(4096);
    private int _depth = 1;

    public SvgBuilder(double width, double height, string? title)
    {
        _sb.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(N(width))
           .Append("\" height=\"").Append(N(height))
           .Append("\" viewBox=\"0 0 ").Append(N(width)).Append(' ').Append(N(height))
           .Append("\" font-family=\"").Append(FontFamily)
           .Append("\" font-size=\"").Append(N(FontSize)).Append("\" role=\"img\">\n");
        if (!string.IsNullOrEmpty(title))
            Indent().Append("<title>").Append(XmlText.Escape(title)).Append("</title>\n");
        Indent().Append("<rect class=\"background\" x=\"0\" y=\"0\" width=\"").Append(N(width))
           .Append("\" height=\"").Append(N(height)).Append("\" fill=\"#ffffff\"/>\n");
    }

    public static string N(double value) => Invariant.Fixed(value, 2).TrimEnd('0').TrimEnd('.');

    public static double TextWidth(string text) => text.Length * CharWidth;

    public void OpenGroup(string cssClass)
    {
        Indent().Append("<g class=\"").Append(cssClass).Append("\">\n");
        _depth++;
    }

    public void CloseGroup()
    {
        _depth--;
        Indent().Append("</g>\n");
    }

    public void Rect(double x, double y, double width, double height, string fill, string cssClass, string? tooltip = null)
    {
        Indent().Append("<rect class=\"").Append(cssClass).Append("\" x=\"").Append(N(x)).Append("\" y=\"").Append(N(y))
           .Append("\" width=\"").Append(N(Math.Max(0, width))).Append("\" height=\"").Append(N(Math.Max(0, height)))
           .Append("\" fill=\"").Append(fill).Append('"');
        CloseWithTooltip("rect", tooltip);
    }

    public void Line(double x1, double y1, double x2, double y2, string stroke, double strokeWidth, string cssClass, string? dash = null)
    {
        Indent().Append("<line class=\"").Append(cssClass).Append("\" x1=\"").Append(N(x1)).Append("\" y1=\"").Append(N(y1))
           .Append("\" x2=\"").Append(N(x2)).Append("\" y2=\"").Append(N(y2))
           .Append("\" stroke=\"").Append(stroke).Append("\" stroke-width=\"").Append(N(strokeWidth)).Append('"');
        if (dash is not null)
            _sb.Append(" stroke-dasharray=\"").Append(dash).Append('"');
        _sb.Append("/>\n");
    }

    public void Polyline(IReadOnlyList<(double X, double Y)> points, string stroke, double strokeWidth, string cssClass, string? dash, string? tooltip)
    {
        Indent().Append("<polyline class=\"").Append(cssClass).Append("\" fill=\"none\" stroke=\"").Append(stroke)
           .Append("\" stroke-width=\"").Append(N(strokeWidth)).Append("\" stroke-linejoin=\"round\"");
        if (dash is not null)
            _sb.Append(" stroke-dasharray=\"").Append(dash).Append('"');
        _sb.Append(" points=\"");
        for (int i = 0; i < points.Count; i++)
        {
            if (i > 0)
                _sb.Append(' ');
            _sb.Append(N(points[i].X)).Append(',').Append(N(points[i].Y));
        }
        _sb.Append('"');
        CloseWithTooltip("polyline", tooltip);
    }

    public void Circle(double cx, double cy, double r, string fill, string cssClass, string? tooltip = null)
    {
        Indent().Append("<circle class=\"").Append(cssClass).Append("\" cx=\"").Append(N(cx)).Append("\" cy=\"").Append(N(cy))
           .Append("\" r=\"").Append(N(r)).Append("\" fill=\"").Append(fill).Append('"');
        CloseWithTooltip("circle", tooltip);
    }

    /// <param name="anchor">start, middle or end.</param>
    /// <param name="rotate">Degrees about (x, y), e.g. -90 for a y-axis label.</param>
    public void Text(double x, double y, string text, string cssClass, string anchor = "start", double? size = null,
        bool bold = false, double rotate = 0, string fill = "#222222", bool halo = false)
    {
        Indent().Append("<text class=\"").Append(cssClass).Append("\" x=\"").Append(N(x)).Append("\" y=\"").Append(N(y))
           .Append("\" text-anchor=\"").Append(anchor).Append("\" fill=\"").Append(fill).Append('"');
        if (size is double s)
            _sb.Append(" font-size=\"").Append(N(s)).Append('"');
        if (bold)
            _sb.Append(" font-weight=\"bold\"");
        if (halo) // a white outline under the glyphs keeps text readable over lines
            _sb.Append(" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"");
        if (rotate != 0)
            _sb.Append(" transform=\"rotate(").Append(N(rotate)).Append(' ').Append(N(x)).Append(' ').Append(N(y)).Append(")\"");
        _sb.Append('>').Append(XmlText.Escape(text)).Append("</text>\n");
    }

    public string Finish()
    {
        while (_depth > 1)
            CloseGroup();
        _sb.Append("</svg>\n");
        return _sb.ToString();
    }

    private void CloseWithTooltip(string element, string? tooltip)
    {
        if (tooltip is null)
        {
            _sb.Append("/>\n");
            return;
        }
        _sb.Append("><title>").Append(XmlText.Escape(tooltip)).Append("</title></").Append(element).Append(">\n");
    }

    private StringBuilder Indent() => _sb.Append(' ', 2 * _depth);
}
