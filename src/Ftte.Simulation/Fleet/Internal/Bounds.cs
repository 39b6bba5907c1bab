using System.Globalization;

namespace Ftte.Simulation.Fleet.Internal;

/// <summary>The allowed range of each numeric device field, shared by in-memory validation and the file readers so both say the same thing.</summary>
internal enum Bound
{
    /// <summary>Finite and &gt; 0.</summary>
    Positive,
    /// <summary>Finite and ≥ 0.</summary>
    NonNegative,
    /// <summary>In [0, 1].</summary>
    Probability,
    /// <summary>In [0, 24): an hour of the day.</summary>
    HourOfDay,
    /// <summary>In (0, 24]: a number of hours in one day.</summary>
    HoursPerDay,
}

internal static class Bounds
{
    /// <summary>What the bound allows, phrased to follow "expected".</summary>
    public static string Describe(Bound bound) => bound switch
    {
        Bound.Positive => "a finite number > 0",
        Bound.NonNegative => "a finite number ≥ 0",
        Bound.Probability => "a number in [0, 1]",
        Bound.HourOfDay => "an hour in [0, 24)",
        Bound.HoursPerDay => "a number of hours in (0, 24]",
        _ => throw new ArgumentOutOfRangeException(nameof(bound)),
    };

    public static bool Holds(double value, Bound bound) => bound switch
    {
        Bound.Positive => double.IsFinite(value) && value > 0,
        Bound.NonNegative => double.IsFinite(value) && value >= 0,
        Bound.Probability => value >= 0 && value <= 1,
        Bound.HourOfDay => value >= 0 && value < 24,
        Bound.HoursPerDay => value > 0 && value <= 24,
        _ => throw new ArgumentOutOfRangeException(nameof(bound)),
    };

    /// <summary>Throws an <see cref="ArgumentException"/> naming the owner, the field, the value and the allowed range.</summary>
    public static void Check(double value, Bound bound, string owner, string field)
    {
        if (!Holds(value, bound))
            throw new ArgumentException(
                $"{owner}: {field} is {value.ToString("R", CultureInfo.InvariantCulture)}; expected {Describe(bound)}.", field);
    }
}
