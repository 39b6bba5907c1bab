using System.Globalization;
using Ftte.Federation.Privacy.Internal;

namespace Ftte.Federation.Privacy;

/// <summary>How RDP at a set of orders becomes an (ε, δ) guarantee; the best order is the one giving the smallest ε.</summary>
public enum RdpConversion
{
    /// <summary>
    /// ε = rdp(α) + log((α−1)/α) − (log δ + log α)/(α−1) (Balle, Barthe, Gaboardi, Hsu &amp; Sato 2020, "Hypothesis
    /// testing interpretations and Rényi differential privacy", Thm. 21; Canonne, Kamath &amp; Steinke 2020, Prop. 12),
    /// with dp_accounting's guards: ε = 0 when δ² + e^(−rdp) − 1 &gt; 0 (the KL bound δ ≤ √(1 − e^(−KL)) already holds),
    /// orders ≤ 1.01 skipped. Never larger than <see cref="Classic"/>; what TF-Privacy, dp_accounting and Opacus
    /// report today, and what FTTE.NET reports.
    /// </summary>
    Improved,
    /// <summary>ε = rdp(α) − log δ/(α−1) (Mironov 2017, "Rényi Differential Privacy", Prop. 3): the older figure, as in Abadi et al.-era tutorials.</summary>
    Classic,
}

/// <summary>An (ε, δ) guarantee and the RDP order that gave it.</summary>
/// <param name="Order">The order α minimising ε; NaN when no order gives a finite ε.</param>
public sealed record PrivacySpent(double Epsilon, double Delta, double Order, RdpConversion Conversion)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"ε = {Epsilon:0.####} at δ = {PrivacyFormat.Delta(Delta)} (order α = {Order:0.##}, {PrivacyFormat.Conversion(Conversion)})");
}

/// <summary>RDP → (ε, δ): pure functions over an order grid and its RDP values.</summary>
public static class RdpToDp
{
    /// <summary>The smallest ε over <paramref name="orders"/> at which the composed mechanism is (ε, δ)-DP.</summary>
    public static PrivacySpent Epsilon(ReadOnlySpan<double> orders, ReadOnlySpan<double> rdp, double delta, RdpConversion conversion = RdpConversion.Improved)
    {
        if (orders.Length != rdp.Length) throw new ArgumentException($"{orders.Length} orders but {rdp.Length} RDP values.", nameof(rdp));
        if (orders.Length == 0) throw new ArgumentException("At least one RDP order is needed.", nameof(orders));
        ValidateDelta(delta);
        double best = double.PositiveInfinity, bestOrder = double.NaN;
        for (int k = 0; k < orders.Length; k++)
        {
            double eps = EpsilonAt(orders[k], rdp[k], delta, conversion);
            if (eps < best) { best = eps; bestOrder = orders[k]; }
        }
        return new PrivacySpent(Math.Max(0, best), delta, bestOrder, conversion);
    }

    /// <summary>ε from the RDP <paramref name="rdp"/> at one order α.</summary>
    public static double EpsilonAt(double order, double rdp, double delta, RdpConversion conversion)
    {
        if (!(order > 1)) throw new ArgumentOutOfRangeException(nameof(order), order, $"RDP orders must be > 1; got {order}.");
        if (!(rdp >= 0)) throw new ArgumentOutOfRangeException(nameof(rdp), rdp, $"RDP cannot be negative or NaN; got {rdp}.");
        if (double.IsPositiveInfinity(rdp)) return double.PositiveInfinity;
        switch (conversion)
        {
            case RdpConversion.Classic:
                return rdp - Math.Log(delta) / (order - 1);
            case RdpConversion.Improved:
                // KL shortcut: RDP at α > 1 bounds the KL divergence, and δ ≥ √(1 − e^(−KL)) gives (0, δ)-DP.
                if (delta * delta + LogMath.Expm1(-rdp) > 0) return 0;
                // The bound is numerically unstable as α → 1 and useless there anyway.
                if (order <= 1.01) return double.PositiveInfinity;
                return rdp + LogMath.Log1p(-1 / order) - Math.Log(delta * order) / (order - 1);
            default:
                throw new ArgumentOutOfRangeException(nameof(conversion), conversion, "Unknown RDP conversion.");
        }
    }

    internal static void ValidateDelta(double delta)
    {
        if (!(delta > 0 && delta < 1)) throw new ArgumentOutOfRangeException(nameof(delta), delta, $"δ must be in (0, 1); got {delta}.");
    }
}

/// <summary>Formats shared by messages and the CLI.</summary>
public static class PrivacyFormat
{
    /// <summary>δ the way papers write it: 1e-5, 2.5e-6, 0.01.</summary>
    public static string Delta(double delta)
    {
        if (delta >= 1e-3) return delta.ToString("0.######", CultureInfo.InvariantCulture);
        int exponent = (int)Math.Floor(Math.Log10(delta));
        double mantissa = delta / Math.Pow(10, exponent);
        if (mantissa >= 9.9999999) { mantissa /= 10; exponent++; }
        string m = Math.Abs(mantissa - Math.Round(mantissa)) < 1e-9 ? ((int)Math.Round(mantissa)).ToString(CultureInfo.InvariantCulture)
            : mantissa.ToString("0.###", CultureInfo.InvariantCulture);
        return $"{m}e{exponent.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>ε with two decimals, or more when two would hide the difference from <paramref name="versus"/> (8.004 vs 8).</summary>
    public static string Epsilon(double epsilon, double versus = double.NaN)
    {
        if (double.IsPositiveInfinity(epsilon)) return "∞";
        for (int decimals = 2; decimals <= 8; decimals++)
        {
            string text = epsilon.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            if (double.IsNaN(versus) || double.Parse(text, CultureInfo.InvariantCulture) != versus) return text;
        }
        return epsilon.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A short name with its source, for reports.</summary>
    public static string Conversion(RdpConversion conversion) => conversion switch
    {
        RdpConversion.Improved => "improved conversion, Balle et al. 2020",
        RdpConversion.Classic => "classic conversion, Mironov 2017",
        _ => conversion.ToString(),
    };
}
