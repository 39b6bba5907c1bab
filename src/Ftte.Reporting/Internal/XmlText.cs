using System.Text;

namespace Ftte.Reporting.Internal;

/// <summary>Escaping for text placed in XML or HTML (element content and double-quoted attributes).</summary>
internal static class XmlText
{
    /// <summary>
    /// Escapes <c>&amp; &lt; &gt; " '</c> and replaces characters XML 1.0 forbids (control characters other
    /// than tab/newline/return, lone surrogates) with U+FFFD, so any strategy name still yields a
    /// well-formed document.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!NeedsEscaping(text))
            return text;

        var sb = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        sb.Append(c).Append(text[++i]);
                    }
                    else if (IsForbidden(c))
                    {
                        sb.Append('\uFFFD');
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.ToString();
    }

    private static bool NeedsEscaping(string text)
    {
        foreach (char c in text)
        {
            if (c is '&' or '<' or '>' or '"' or '\'' || IsForbidden(c) || char.IsSurrogate(c))
                return true;
        }
        return false;
    }

    private static bool IsForbidden(char c) =>
        (c < 0x20 && c is not ('\t' or '\n' or '\r')) || char.IsSurrogate(c) || c is '\uFFFE' or '\uFFFF';
}
