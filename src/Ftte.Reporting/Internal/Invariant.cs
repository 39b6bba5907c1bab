using System.Globalization;

namespace Ftte.Reporting.Internal;

/// <summary>Culture-free number formatting shared by every writer: the same value always gives the same text.</summary>
internal static class Invariant
{
    public static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    /// <summary>Shortest text that parses back to the same double ("R" semantics since .NET Core 3.0).</summary>
    public static string RoundTrip(double value) => value.ToString("R", Culture);

    public static string Integer(long value) => value.ToString(Culture);

    /// <summary>Fixed decimals, never "-0".</summary>
    public static string Fixed(double value, int decimals)
    {
        double rounded = Math.Round(value, decimals, MidpointRounding.AwayFromZero);
        if (rounded == 0)
            rounded = 0; // turns -0 into 0
        return rounded.ToString("F" + decimals.ToString(Culture), Culture);
    }

    /// <summary>A share in [0, 1] as a percentage, e.g. 0.9191 → "91.9%"; non-finite → "—".</summary>
    public static string Percent(double share, int decimals = 1) =>
        double.IsFinite(share) ? Fixed(share * 100, decimals) + "%" : "—";
}
