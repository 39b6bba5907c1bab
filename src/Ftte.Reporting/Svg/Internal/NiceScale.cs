using Ftte.Reporting.Internal;

namespace Ftte.Reporting.Svg.Internal;

/// <summary>
/// An axis range with "nice" ticks (steps of 1, 2 or 5 × 10ᵏ) covering the data, after Heckbert's
/// "Nice numbers for graph labels" (Graphics Gems, 1990).
/// </summary>
internal readonly record struct NiceScale(double Min, double Max, double Step, int Decimals)
{
    public int TickCount => (int)Math.Round((Max - Min) / Step) + 1;

    /// <summary>Tick values, each rounded to the step's decimals so that 0.1 + 0.2 reads 0.3.</summary>
    public IEnumerable<double> Ticks()
    {
        int n = TickCount;
        for (int i = 0; i < n; i++)
            yield return Math.Round(Min + i * Step, Decimals);
    }

    public string Format(double value) => Invariant.Fixed(value, Decimals);

    /// <summary>Maps <paramref name="value"/> to [0, 1] along the axis.</summary>
    public double Fraction(double value) => (value - Min) / (Max - Min);

    /// <summary>
    /// A nice range covering [<paramref name="min"/>, <paramref name="max"/>] with at most about
    /// <paramref name="maxTicks"/> ticks. Empty data (non-finite bounds) gives [0, 1]; a single value v
    /// gives a range around it (v ± 10 %, or [0, 1] for 0), so there is never a zero-width axis.
    /// </summary>
    public static NiceScale Create(double min, double max, int maxTicks = 6)
    {
        if (maxTicks < 2)
            throw new ArgumentOutOfRangeException(nameof(maxTicks), maxTicks, "An axis needs at least 2 ticks.");
        if (!double.IsFinite(min) || !double.IsFinite(max))
            (min, max) = (0, 1);
        if (min > max)
            (min, max) = (max, min);
        if (min == max)
        {
            double pad = min == 0 ? 1 : Math.Abs(min) * 0.1;
            (min, max) = min == 0 ? (0, 1) : (min - pad, max + pad);
        }

        // The smallest step of 1, 2 or 5 × 10ᵏ that covers the range in at most maxTicks ticks: tighter
        // than Heckbert's rounded step (0–2.42 gets 0–2.5 by 0.5, not 0–3 by 1). The small epsilon keeps
        // 1/0.2 = 4.999… from adding a whole extra step.
        double step = NiceCeiling((max - min) / (maxTicks - 1));
        double lo, hi;
        while (true)
        {
            lo = Math.Floor(min / step + 1e-9) * step;
            hi = Math.Ceiling(max / step - 1e-9) * step;
            if (Math.Round((hi - lo) / step) + 1 <= maxTicks)
                break;
            step = NextNice(step);
        }
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        lo = Math.Round(lo, Math.Min(decimals, 15));
        hi = Math.Round(hi, Math.Min(decimals, 15));
        return new NiceScale(lo, hi, step, Math.Min(decimals, 15));
    }

    // The nice number (1, 2, 5 or 10 × 10ᵏ) at or above x.
    private static double NiceCeiling(double x)
    {
        double power = Math.Pow(10, Math.Floor(Math.Log10(x)));
        double f = x / power * (1 - 1e-12); // 0.2 / 0.1 = 2.0000000000000004 is still 2
        double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return nice * power;
    }

    // 1 → 2 → 5 → 10 within the decade.
    private static double NextNice(double step)
    {
        double power = Math.Pow(10, Math.Floor(Math.Log10(step) + 1e-9));
        double f = Math.Round(step / power);
        return (f < 2 ? 2 : f < 5 ? 5 : 10) * power;
    }
}
