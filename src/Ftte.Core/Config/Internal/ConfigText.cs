using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Ftte.Core.Config.Internal;

/// <summary>Names, suggestions and the words of error messages.</summary>
internal static class ConfigText
{
    public static string CamelCase(string name) => JsonNamingPolicy.CamelCase.ConvertName(name);

    /// <summary>
    /// <c>FedBuff</c> → <c>fed-buff</c>, <c>HTTPServer</c> → <c>http-server</c>, <c>MobileNetV2</c> → <c>mobile-net-v2</c>,
    /// <c>Relu6</c> → <c>relu6</c>: a dash where a word starts (an upper-case letter after a lower-case letter or digit,
    /// or the last capital of an acronym), and <c>_</c> becomes a dash.
    /// </summary>
    public static string Kebab(string name)
    {
        var text = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c == '_')
            {
                if (text.Length > 0 && text[^1] != '-') text.Append('-');
                continue;
            }
            if (char.IsUpper(c) && i > 0 && text.Length > 0 && text[^1] != '-')
            {
                char previous = name[i - 1];
                bool nextIsLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (char.IsLower(previous) || char.IsDigit(previous) || (char.IsUpper(previous) && nextIsLower)) text.Append('-');
            }
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }

    /// <summary>Lower case without '-' and '_': the form in which enum names are compared.</summary>
    public static string Normalize(string text) => text.Replace("-", "").Replace("_", "").ToLowerInvariant();

    /// <summary>
    /// The candidate <paramref name="given"/> most likely meant: one equal ignoring case (after <paramref name="normalize"/>),
    /// else the nearest within edit distance 2 (ignoring case), else null.
    /// </summary>
    public static string? Suggest(string given, IEnumerable<string> candidates, Func<string, string>? normalize = null)
    {
        normalize ??= s => s.ToLowerInvariant();
        string wanted = normalize(given);
        string? best = null;
        int bestDistance = 3;
        foreach (string candidate in candidates)
        {
            string c = normalize(candidate);
            if (c == wanted) return candidate;
            int distance = EditDistance(wanted, c, bestDistance);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best;
    }

    /// <summary>Levenshtein distance of <paramref name="a"/> and <paramref name="b"/>, or <paramref name="cap"/> when it is at least that.</summary>
    public static int EditDistance(string a, string b, int cap)
    {
        if (Math.Abs(a.Length - b.Length) >= cap) return cap;
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitute, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return Math.Min(previous[b.Length], cap);
    }

    /// <summary>"'a', 'b', 'c'".</summary>
    public static string Quoted(IEnumerable<string> names) => string.Join(", ", names.Select(n => "'" + n + "'"));

    /// <summary>What a JSON value is, for "got …": <c>0</c>, <c>string "abc"</c>, <c>true</c>, <c>null</c>, <c>an object</c>, <c>a list</c>.</summary>
    public static string Got(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "string " + Truncate(value.GetRawText()),
        JsonValueKind.Number => Truncate(value.GetRawText()),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => "nothing",
    };

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>"≥ 1", "≤ 10", "between 0 and 1", or null for no bound.</summary>
    public static string? Range(ConfigRangeAttribute? range)
    {
        if (range is null) return null;
        bool low = !double.IsNegativeInfinity(range.Min), high = !double.IsPositiveInfinity(range.Max);
        return (low, high) switch
        {
            (true, true) => $"between {Number(range.Min)} and {Number(range.Max)}",
            (true, false) => "≥ " + Number(range.Min),
            (false, true) => "≤ " + Number(range.Max),
            _ => null,
        };
    }

    /// <summary>Seconds in "90", "90s", "1.5h", "15min", "500ms", "2d" (units ms, s, sec, m, min, h, d); null if not a duration.</summary>
    public static double? ParseDuration(string text)
    {
        string t = text.Trim();
        int i = 0;
        while (i < t.Length && (char.IsDigit(t[i]) || t[i] == '.')) i++;
        double scale = t[i..].Trim().ToLowerInvariant() switch
        {
            "" or "s" or "sec" => 1,
            "ms" => 1e-3,
            "m" or "min" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => -1,
        };
        if (i == 0 || scale < 0 || !double.TryParse(t[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value))
            return null;
        return value * scale;
    }

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..57] + "…";
}
