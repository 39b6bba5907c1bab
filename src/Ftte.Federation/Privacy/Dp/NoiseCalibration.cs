namespace Ftte.Federation.Privacy;

/// <summary>Choosing the noise multiplier before a run: the smallest σ whose ε after the planned steps stays within a target.</summary>
public static class NoiseCalibration
{
    /// <summary>Above this σ we stop looking: such a target is not a useful training configuration.</summary>
    public const double MaxSigma = 1e4;

    /// <summary>
    /// The smallest noise multiplier σ (to a relative <paramref name="tolerance"/>) such that <paramref name="steps"/> steps
    /// of the SGM at sampling rate <paramref name="q"/> are (ε, δ)-DP with ε ≤ <paramref name="targetEpsilon"/>. ε falls
    /// monotonically as σ grows (at every order), so bisection finds it; the σ returned always meets the target.
    /// </summary>
    public static double SigmaForEpsilon(double targetEpsilon, double q, long steps, double delta,
        IEnumerable<double>? orders = null, RdpConversion conversion = RdpConversion.Improved, double tolerance = 1e-6)
    {
        if (!(targetEpsilon > 0) || double.IsPositiveInfinity(targetEpsilon))
            throw new ArgumentOutOfRangeException(nameof(targetEpsilon), targetEpsilon, $"The target ε must be finite and > 0; got {targetEpsilon}.");
        if (!(q > 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, $"The sampling rate q must be in (0, 1]; got {q}.");
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"Steps must be ≥ 1; got {steps}.");
        RdpToDp.ValidateDelta(delta);
        if (!(tolerance > 0 && tolerance < 1)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "The tolerance must be in (0, 1).");

        var orderGrid = (orders ?? RdpAccountant.DefaultOrders).ToArray();
        var rdp = new double[orderGrid.Length];
        double EpsilonAt(double sigma)
        {
            SampledGaussianRdp.Rdp(q, sigma, orderGrid, rdp);
            for (int k = 0; k < rdp.Length; k++) rdp[k] *= steps;
            return RdpToDp.Epsilon(orderGrid, rdp, delta, conversion).Epsilon;
        }

        // σ = 0 is not private (ε = ∞): a valid lower end. Double the upper end until it meets the target.
        double lo = 0, hi = 1;
        while (EpsilonAt(hi) > targetEpsilon)
        {
            lo = hi;
            hi *= 2;
            if (hi > MaxSigma)
                throw new ArgumentException($"No noise multiplier up to {MaxSigma:G} reaches ε ≤ {targetEpsilon} at δ = {PrivacyFormat.Delta(delta)} " +
                    $"after {steps:N0} steps at q = {q}; allow a larger ε, fewer steps or a smaller q.");
        }
        while (hi - lo > tolerance * hi)
        {
            double mid = 0.5 * (lo + hi);
            if (EpsilonAt(mid) <= targetEpsilon) hi = mid; else lo = mid;
        }
        return hi;
    }
}
