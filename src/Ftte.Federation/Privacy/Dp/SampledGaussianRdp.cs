using Ftte.Federation.Privacy.Internal;

namespace Ftte.Federation.Privacy;

/// <summary>
/// Rényi differential privacy of the sampled Gaussian mechanism (SGM): each record (here: each device) is included
/// independently with probability q, the sum of the included contributions, each of L2 norm at most C, gets
/// N(0, σ²C²) noise. σ is the noise multiplier. Add/remove-one adjacency.
///
/// <para>For 0 &lt; q &lt; 1 the RDP at order α is ε(α) = log(A_α)/(α − 1) with (Mironov, Talwar &amp; Zhang 2019,
/// "Rényi Differential Privacy of the Sampled Gaussian Mechanism", §3.3)</para>
/// <code>
///   integer α:     A_α = Σ_{i=0..α} C(α,i) qⁱ (1−q)^(α−i) exp((i² − i)/(2σ²))
///   fractional α:  A_α = Σ_{i≥0} C(α,i) [ qⁱ(1−q)^(α−i) e^((i²−i)/(2σ²)) ½erfc((i − z₀)/(√2σ))
///                                      + q^(α−i)(1−q)ⁱ e^(((α−i)²−(α−i))/(2σ²)) ½erfc((z₀ − (α−i))/(√2σ)) ],
///                  z₀ = σ² log(1/q − 1) + ½, summed until both terms fall below e^(−30)
/// </code>
/// <para>computed in log space (log-sum-exp, log binomials) so that α = 256 with σ = 0.1 (exponents in the millions)
/// neither overflows nor loses the small terms. This is the algorithm of TF-Privacy / Google's dp_accounting and
/// Opacus, and gives their numbers. q = 1 is the plain Gaussian mechanism, ε(α) = α/(2σ²) exactly (Mironov 2017,
/// "Rényi Differential Privacy"); q = 0 costs nothing; σ = 0 is not private (ε = ∞).</para>
/// </summary>
public static class SampledGaussianRdp
{
    /// <summary>Integer orders above this are refused: the exact sum has α + 1 terms.</summary>
    public const double MaxOrder = 1 << 20;

    /// <summary>ε(α) of one step of the SGM with sampling rate <paramref name="q"/> and noise multiplier <paramref name="sigma"/>.</summary>
    public static double Rdp(double q, double sigma, double order)
    {
        Validate(q, sigma);
        ValidateOrder(order);
        return RdpUnchecked(q, sigma, order);
    }

    /// <summary>ε(α) at every order of <paramref name="orders"/> into <paramref name="destination"/> (same length).</summary>
    public static void Rdp(double q, double sigma, ReadOnlySpan<double> orders, Span<double> destination)
    {
        Validate(q, sigma);
        if (destination.Length != orders.Length)
            throw new ArgumentException($"The destination has {destination.Length} values for {orders.Length} orders.", nameof(destination));
        foreach (double order in orders) ValidateOrder(order);
        for (int k = 0; k < orders.Length; k++) destination[k] = RdpUnchecked(q, sigma, orders[k]);
    }

    internal static void Validate(double q, double sigma)
    {
        if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, $"The sampling rate q must be in [0, 1]; got {q}.");
        if (!(sigma >= 0) || double.IsPositiveInfinity(sigma))
            throw new ArgumentOutOfRangeException(nameof(sigma), sigma, $"The noise multiplier σ must be finite and ≥ 0; got {sigma}.");
    }

    internal static void ValidateOrder(double order)
    {
        if (!(order > 1)) throw new ArgumentOutOfRangeException(nameof(order), order, $"RDP orders must be > 1; got {order}.");
        if (order > MaxOrder && !double.IsPositiveInfinity(order))
            throw new ArgumentOutOfRangeException(nameof(order), order, $"RDP orders above {MaxOrder} are not supported; got {order}.");
    }

    private static double RdpUnchecked(double q, double sigma, double order)
    {
        if (q == 0) return 0;
        if (sigma == 0 || double.IsPositiveInfinity(order)) return double.PositiveInfinity;
        if (q == 1) return order / (2 * sigma * sigma);
        // σ² out of double range: below, the noise is nil (and (i² − i)/(2σ²) would be 0/0); above, the loss is nil.
        if (sigma * sigma == 0) return double.PositiveInfinity;
        if (double.IsPositiveInfinity(sigma * sigma)) return 0;
        double logA = order == Math.Floor(order) ? LogAInteger(q, sigma, (int)order) : LogAFractional(q, sigma, order);
        if (double.IsNaN(logA))
        {
            // The alternating fractional series failed numerically (never seen for q, σ, α of practical use). RDP is
            // non-decreasing in α (van Erven & Harremoës 2014, Thm. 3), so the next integer order is a valid, slightly looser bound.
            return RdpUnchecked(q, sigma, Math.Ceiling(order));
        }
        // A_α ≥ 1 in exact arithmetic; clamp the last-ulp negatives rounding can leave.
        return Math.Max(0.0, logA / (order - 1));
    }

    /// <summary>log A_α for integer α ≥ 2, 0 &lt; q &lt; 1: the finite binomial sum.</summary>
    private static double LogAInteger(double q, double sigma, int alpha)
    {
        double logQ = Math.Log(q), log1mQ = LogMath.Log1p(-q), twoSigma2 = 2 * sigma * sigma;
        double logA = double.NegativeInfinity, logBinom = 0;   // log C(α, 0) = 0
        for (int i = 0; i <= alpha; i++)
        {
            if (i > 0) logBinom += Math.Log(alpha - i + 1) - Math.Log(i);
            double s = logBinom + i * logQ + (alpha - i) * log1mQ + ((double)i * i - i) / twoSigma2;
            logA = LogMath.LogAdd(logA, s);
        }
        return logA;
    }

    /// <summary>
    /// log A_α for fractional α, 0 &lt; q &lt; 1: the two half-line integrals of Mironov et al. 2019 §3.3 as series in i,
    /// whose binomial coefficients C(α, i) change sign once i &gt; α + 1 (hence log-space subtraction). NaN if the
    /// partial sums go negative, which only rounding could cause.
    /// </summary>
    private static double LogAFractional(double q, double sigma, double alpha)
    {
        double logA0 = double.NegativeInfinity, logA1 = double.NegativeInfinity;
        double logQ = Math.Log(q), log1mQ = LogMath.Log1p(-q), twoSigma2 = 2 * sigma * sigma, sqrt2Sigma = Math.Sqrt(2) * sigma;
        double z0 = sigma * sigma * Math.Log(1 / q - 1) + 0.5;
        double logAbsCoef = 0;   // log |C(α, 0)|
        bool positive = true;
        const double LogHalf = -0.69314718055994530942;
        // The terms peak near i ≈ α and then fall geometrically; a series still going after 4α + 10⁴ terms has
        // lost its way numerically, and the caller falls back to the next integer order.
        long maxTerms = (long)Math.Min(4 * alpha + 10_000, int.MaxValue);
        for (int i = 0; i < maxTerms; i++)
        {
            if (i > 0)
            {
                // C(α, i) = C(α, i−1)·(α − i + 1)/i
                double factor = (alpha - i + 1) / i;
                logAbsCoef += Math.Log(Math.Abs(factor));
                if (factor < 0) positive = !positive;
            }
            double j = alpha - i;
            double logT0 = logAbsCoef + i * logQ + j * log1mQ;
            double logT1 = logAbsCoef + j * logQ + i * log1mQ;
            double logE0 = LogHalf + LogMath.LogErfc((i - z0) / sqrt2Sigma);
            double logE1 = LogHalf + LogMath.LogErfc((z0 - j) / sqrt2Sigma);
            double logS0 = logT0 + ((double)i * i - i) / twoSigma2 + logE0;
            double logS1 = logT1 + (j * j - j) / twoSigma2 + logE1;
            if (positive)
            {
                logA0 = LogMath.LogAdd(logA0, logS0);
                logA1 = LogMath.LogAdd(logA1, logS1);
            }
            else
            {
                logA0 = LogMath.LogSub(logA0, logS0);
                logA1 = LogMath.LogSub(logA1, logS1);
                if (double.IsNaN(logA0) || double.IsNaN(logA1)) return double.NaN;
            }
            if (Math.Max(logS0, logS1) < -30) return LogMath.LogAdd(logA0, logA1);
        }
        return double.NaN;
    }
}
