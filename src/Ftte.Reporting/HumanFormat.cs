using Ftte.Reporting.Internal;

namespace Ftte.Reporting;

/// <summary>Durations for people: "0.4 s", "45 s", "12 min 05 s", "1 h 02 min", "3 d 04 h".</summary>
public static class HumanFormat
{
    /// <summary>
    /// Formats <paramref name="seconds"/> with two units at most: below 10 s with one decimal, below a
    /// minute in whole seconds, then minutes and seconds, hours and minutes, days and hours. The value is
    /// rounded to the smallest unit shown first, so 59.7 s reads "1 min 00 s", not "60 s".
    /// Non-finite or negative values read "—".
    /// </summary>
    public static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds) || seconds < 0)
            return "—";
        if (Math.Round(seconds, 1, MidpointRounding.AwayFromZero) < 10)
            return Invariant.Fixed(seconds, 1) + " s";

        long s = (long)Math.Round(seconds, MidpointRounding.AwayFromZero);
        if (s < 60)
            return $"{s} s";
        if (s < 3600)
            return $"{s / 60} min {s % 60:00} s";

        long m = (long)Math.Round(seconds / 60, MidpointRounding.AwayFromZero);
        if (m < 24 * 60)
            return $"{m / 60} h {m % 60:00} min";

        long h = (long)Math.Round(seconds / 3600, MidpointRounding.AwayFromZero);
        return $"{h / 24} d {h % 24:00} h";
    }
}
