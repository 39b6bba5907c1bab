namespace Ftte.Federation.Tests.Privacy.SecAgg;

/// <summary>Goodness-of-fit p-values for "these words look uniform on [0, 2^32)".</summary>
internal static class UniformityStatistics
{
    /// <summary>Pearson's χ² on the 256 byte values (df = 255); returns (χ², p).</summary>
    public static (double ChiSquare, double P) ByteChiSquare(ReadOnlySpan<uint> words)
    {
        var counts = new long[256];
        foreach (uint w in words)
        {
            counts[w & 0xFF]++;
            counts[(w >> 8) & 0xFF]++;
            counts[(w >> 16) & 0xFF]++;
            counts[w >> 24]++;
        }
        double expected = words.Length * 4 / 256.0, chi = 0;
        foreach (long c in counts) chi += (c - expected) * (c - expected) / expected;
        return (chi, ChiSquareSurvival(chi, 255));
    }

    /// <summary>Kolmogorov–Smirnov of w/2^32 against U(0, 1); asymptotic p with Stephens' correction.</summary>
    public static (double D, double P) KolmogorovSmirnov(ReadOnlySpan<uint> words)
    {
        var x = new double[words.Length];
        for (int i = 0; i < x.Length; i++) x[i] = words[i] / 4294967296.0;
        Array.Sort(x);
        double d = 0, n = x.Length;
        for (int i = 0; i < x.Length; i++) d = Math.Max(d, Math.Max((i + 1) / n - x[i], x[i] - i / n));
        double sqrtN = Math.Sqrt(n), lambda = (sqrtN + 0.12 + 0.11 / sqrtN) * d, p = 0;
        for (int j = 1; j <= 100; j++) p += 2 * (j % 2 == 1 ? 1 : -1) * Math.Exp(-2 * j * j * lambda * lambda);
        return (d, Math.Clamp(p, 0, 1));
    }

    /// <summary>The smallest two-sided p over the 32 bit positions of "ones are half" (a monobit test per position).</summary>
    public static double SmallestBitP(ReadOnlySpan<uint> words)
    {
        double smallest = 1, n = words.Length;
        for (int bit = 0; bit < 32; bit++)
        {
            long ones = 0;
            foreach (uint w in words) ones += (w >> bit) & 1;
            double z = (ones - n / 2) / Math.Sqrt(n / 4);
            smallest = Math.Min(smallest, ChiSquareSurvival(z * z, 1));   // = erfc(|z|/√2)
        }
        return smallest;
    }

    /// <summary>P[χ²_df &gt; x] = Q(df/2, x/2), the regularised upper incomplete gamma function.</summary>
    public static double ChiSquareSurvival(double x, int df) => x <= 0 ? 1 : UpperGammaQ(df / 2.0, x / 2);

    // Numerical Recipes §6.2: series for x < a + 1, Lentz's continued fraction otherwise.
    private static double UpperGammaQ(double a, double x)
    {
        double logPrefix = -x + a * Math.Log(x) - LogGamma(a);
        if (x < a + 1)
        {
            double term = 1 / a, sum = term;
            for (int n = 1; n < 10_000 && Math.Abs(term) > Math.Abs(sum) * 1e-15; n++)
            {
                term *= x / (a + n);
                sum += term;
            }
            return 1 - sum * Math.Exp(logPrefix);
        }
        const double tiny = 1e-300;
        double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
        for (int i = 1; i < 10_000; i++)
        {
            double an = -i * (i - a);
            b += 2;
            d = an * d + b;
            if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c;
            if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-15) break;
        }
        return Math.Exp(logPrefix) * h;
    }

    // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for a > 0.
    private static double LogGamma(double a)
    {
        double[] c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        if (a < 0.5) return Math.Log(Math.PI / Math.Sin(Math.PI * a)) - LogGamma(1 - a);
        a -= 1;
        double s = c[0], t = a + 7.5;
        for (int i = 1; i < 9; i++) s += c[i] / (a + i);
        return 0.5 * Math.Log(2 * Math.PI) + (a + 0.5) * Math.Log(t) - t + Math.Log(s);
    }
}
