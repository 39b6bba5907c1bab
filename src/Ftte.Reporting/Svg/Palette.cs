namespace Ftte.Reporting.Svg;

/// <summary>
/// Series colours: the Okabe–Ito palette (Okabe &amp; Ito 2008), distinguishable with the common forms of
/// colour blindness. Yellow is left out (unreadable as a line on white). Past the seventh series the
/// colours repeat and <see cref="Dash"/> changes, so no two series look alike.
/// </summary>
public static class Palette
{
    private static readonly string[] Colors =
    [
        "#0072B2", // blue
        "#D55E00", // vermillion
        "#009E73", // bluish green
        "#E69F00", // orange
        "#CC79A7", // reddish purple
        "#56B4E9", // sky blue
        "#000000", // black
    ];

    private static readonly string?[] Dashes = [null, "6 3", "2 2", "8 3 2 3"];

    /// <summary>Number of distinct colours before they repeat.</summary>
    public static int Count => Colors.Length;

    /// <summary>The colour of series <paramref name="index"/> (0-based), as "#RRGGBB".</summary>
    public static string Color(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return Colors[index % Colors.Length];
    }

    /// <summary>The SVG stroke-dasharray of series <paramref name="index"/>; null (solid) for the first cycle of colours.</summary>
    public static string? Dash(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return Dashes[index / Colors.Length % Dashes.Length];
    }
}
