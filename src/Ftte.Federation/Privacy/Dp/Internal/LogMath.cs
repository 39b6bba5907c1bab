namespace Ftte.Federation.Privacy.Internal;

/// <summary>
/// Log-space arithmetic and the special functions the RDP accountant needs, accurate to a few ulps where the
/// runtime's are not: .NET's <c>double.LogP1</c>/<c>ExpM1</c> are plain <c>Log(1+x)</c>/<c>Exp(x)−1</c> (they lose
/// every digit of log(1−q) for q = 1e-10), and there is no erfc at all.
/// </summary>
internal static class LogMath
{
    private static readonly double LogSqrtPi = 0.5 * Math.Log(Math.PI);

    /// <summary>log(eˣ + eʸ) without overflow; −∞ stands for 0.</summary>
    public static double LogAdd(double x, double y)
    {
        double a = Math.Min(x, y), b = Math.Max(x, y);
        if (double.IsNegativeInfinity(a)) return b;
        return Log1p(Math.Exp(a - b)) + b;
    }

    /// <summary>log(eˣ − eʸ) for x ≥ y; NaN when x &lt; y (the caller decides what a negative result means).</summary>
    public static double LogSub(double x, double y)
    {
        if (x < y) return double.NaN;
        if (double.IsNegativeInfinity(y)) return x;
        if (x == y) return double.NegativeInfinity;
        double d = x - y;
        // eˣ − eʸ = eʸ·(e^(x−y) − 1); for large x − y the −1 is below rounding and the answer is x.
        return d > 700 ? x : Math.Log(Expm1(d)) + y;
    }

    /// <summary>log(1 + x), accurate for tiny x (Kahan's trick: the rounding error of 1 + x cancels in log(u)·x/(u−1)).</summary>
    public static double Log1p(double x)
    {
        if (double.IsNaN(x) || x < -1) return double.NaN;
        if (x == -1) return double.NegativeInfinity;
        if (double.IsPositiveInfinity(x)) return x;
        double u = 1.0 + x;
        if (u == 1.0) return x;
        return Math.Log(u) * x / (u - 1.0);
    }

    /// <summary>eˣ − 1, accurate for tiny x (Kahan's trick, the dual of <see cref="Log1p"/>).</summary>
    public static double Expm1(double x)
    {
        if (Math.Abs(x) < 1e-5) return x + x * x / 2 + x * x * x / 6;
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0 || double.IsPositiveInfinity(u)) return um1;
        return um1 * x / Math.Log(u);
    }

    /// <summary>
    /// log(erfc(x)) for any x, without underflow in the far tail (erfc(40) ≈ 1e-697 is not a double, its log is
    /// −1603.7). x &lt; 0: erfc(x) = 2 − erfc(−x). 0 ≤ x &lt; 2: erfc = 1 − erf with erf from its series of positive
    /// terms (no cancellation). x ≥ 2: erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3⁄2/(x + …)))), Laplace's
    /// continued fraction, whose log keeps the −x² apart.
    /// </summary>
    public static double LogErfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 0) return Math.Log(2.0 - Erfc(-x));
        if (x < 2) return Math.Log(1.0 - Erf(x));
        if (double.IsPositiveInfinity(x)) return double.NegativeInfinity;
        return -x * x - LogSqrtPi - Math.Log(ErfcContinuedFractionDenominator(x));
    }

    /// <summary>erfc(x) for x ≥ 0 (underflows to 0 past x ≈ 27; use <see cref="LogErfc"/> there).</summary>
    public static double Erfc(double x)
    {
        if (x < 2) return 1.0 - Erf(x);
        return Math.Exp(-x * x) / (Math.Sqrt(Math.PI) * ErfcContinuedFractionDenominator(x));
    }

    /// <summary>erf(x) = 2x/√π · e^(−x²) · Σₙ (2x²)ⁿ / (1·3·5···(2n+1)), for 0 ≤ x &lt; 2 (all terms positive).</summary>
    private static double Erf(double x)
    {
        double x2 = x * x, term = 1.0, sum = 1.0;
        for (int n = 0; n < 200; n++)
        {
            term *= 2.0 * x2 / (2 * n + 3);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return 2.0 * x / Math.Sqrt(Math.PI) * Math.Exp(-x2) * sum;
    }

    /// <summary>x + ½/(x + 1/(x + 3⁄2/(x + 2/(x + …)))) by the modified Lentz method; converges fast for x ≥ 2.</summary>
    private static double ErfcContinuedFractionDenominator(double x)
    {
        const double Tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 500; n++)
        {
            double a = 0.5 * n;
            d = x + a * d;
            if (d == 0) d = Tiny;
            c = x + a / c;
            if (c == 0) c = Tiny;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1.0) < 1e-16) break;
        }
        return f;
    }
}
