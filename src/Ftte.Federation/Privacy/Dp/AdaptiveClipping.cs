namespace Ftte.Federation.Privacy;

/// <param name="TargetQuantile">γ: the fraction of updates that should end up unclipped (Andrew et al.: 0.5, the median).</param>
/// <param name="LearningRate">η_C of the geometric update; C changes by at most a factor e^η_C per step (Andrew et al.: 0.2).</param>
/// <param name="CountStddev">σ_b: the noise on the count of unclipped updates; null: expected contributors / 20, Andrew et al.'s recommendation.</param>
public sealed record AdaptiveClippingOptions(double TargetQuantile = 0.5, double LearningRate = 0.2, double? CountStddev = null);

/// <summary>
/// Adaptive clipping (Andrew, Thakkar, McMahan &amp; Ramaswamy 2021, "Differentially Private Learning with Adaptive
/// Clipping"): the clipping norm follows a target quantile γ of the update norms, estimated privately each step.
/// <code>
///   bᵢ = 1[‖Δᵢ‖ ≤ C]                                        computed where the norm is known (server or device)
///   b̄  = clamp( (Σᵢ (bᵢ − ½) + N(0, σ_b²)) / m + ½, 0, 1 )  m: expected contributors (a fixed denominator)
///   C  ← C · exp(−η_C (b̄ − γ))                              geometric update
/// </code>
/// Centring bᵢ at ½ makes the count's sensitivity ½. The count and the clipped sum are released from the same sample,
/// together one Gaussian mechanism on the concatenated vector with noise multiplier
/// z = (z_Δ⁻² + (2σ_b)⁻²)^(−½) (Andrew et al. 2021): the accountant composes z, and the sum's own multiplier is
/// z_Δ = (z⁻² − (2σ_b)⁻²)^(−½) &gt; z, so adapting C costs a slightly noisier sum, not extra ε.
/// </summary>
public sealed class AdaptiveClipping
{
    /// <param name="initialClipNorm">C₀.</param>
    /// <param name="expectedContributors">m: updates per step (FedBuff's K).</param>
    public AdaptiveClipping(double initialClipNorm, double expectedContributors, AdaptiveClippingOptions? options = null)
    {
        ClientDp.ValidateClipNorm(initialClipNorm);
        if (!(expectedContributors > 0)) throw new ArgumentOutOfRangeException(nameof(expectedContributors), expectedContributors, "The expected number of contributors must be > 0.");
        options ??= new AdaptiveClippingOptions();
        if (!(options.TargetQuantile > 0 && options.TargetQuantile < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.TargetQuantile, $"The target quantile must be in (0, 1); got {options.TargetQuantile}.");
        if (!(options.LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(options), options.LearningRate, $"The clip learning rate must be > 0; got {options.LearningRate}.");
        double countStddev = options.CountStddev ?? expectedContributors / 20.0;
        if (!(countStddev >= 0) || double.IsPositiveInfinity(countStddev))
            throw new ArgumentOutOfRangeException(nameof(options), countStddev, $"The count noise σ_b must be finite and ≥ 0; got {countStddev}.");
        ClipNorm = initialClipNorm;
        ExpectedContributors = expectedContributors;
        TargetQuantile = options.TargetQuantile;
        LearningRate = options.LearningRate;
        CountStddev = countStddev;
    }

    /// <summary>The current C.</summary>
    public double ClipNorm { get; private set; }
    public double ExpectedContributors { get; }
    public double TargetQuantile { get; }
    public double LearningRate { get; }
    public double CountStddev { get; }
    /// <summary>b̄ of the last update (noised; safe to report).</summary>
    public double LastUnclippedFraction { get; private set; } = double.NaN;

    /// <summary>Central mode: the server knows <paramref name="unclipped"/> of the <paramref name="contributors"/> norms were ≤ C; noise the count, step C.</summary>
    public double Update(int unclipped, int contributors, NoiseSource noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        if (contributors < 0 || unclipped < 0 || unclipped > contributors)
            throw new ArgumentOutOfRangeException(nameof(unclipped), $"{unclipped} unclipped of {contributors} contributors.");
        return UpdateFromNoisySum(unclipped - 0.5 * contributors + CountStddev * noise.NextGaussian());
    }

    /// <summary>
    /// Distributed mode: Σᵢ (bᵢ − ½ + noise shareᵢ) arrives already noised (each device adds N(0, σ_b²/t), see
    /// <see cref="DeviceCountStddev"/>, and secure aggregation sums it with the update). Steps C and returns it.
    /// </summary>
    public double UpdateFromNoisySum(double noisyCenteredSum)
    {
        if (!double.IsFinite(noisyCenteredSum)) throw new ArgumentException($"The noisy count must be finite; got {noisyCenteredSum}.", nameof(noisyCenteredSum));
        double fraction = Math.Clamp(noisyCenteredSum / ExpectedContributors + 0.5, 0.0, 1.0);
        LastUnclippedFraction = fraction;
        ClipNorm *= Math.Exp(-LearningRate * (fraction - TargetQuantile));
        return ClipNorm;
    }

    /// <summary>Distributed mode: the noise each of at least t devices adds to its bᵢ − ½.</summary>
    public double DeviceCountStddev(int minContributors)
    {
        if (minContributors < 1) throw new ArgumentOutOfRangeException(nameof(minContributors), minContributors, "At least one contributor is needed.");
        return CountStddev / Math.Sqrt(minContributors);
    }

    /// <summary>Restores C after a restart.</summary>
    public void Restore(double clipNorm)
    {
        ClientDp.ValidateClipNorm(clipNorm);
        ClipNorm = clipNorm;
    }

    /// <summary>z_Δ = (z⁻² − (2σ_b)⁻²)^(−½): the multiplier left for the sum when the step's total is z and the count has σ_b.</summary>
    public static double SumNoiseMultiplier(double noiseMultiplier, double countStddev)
    {
        if (!(noiseMultiplier > 0)) throw new ArgumentOutOfRangeException(nameof(noiseMultiplier), noiseMultiplier, "The noise multiplier must be > 0.");
        if (countStddev == 0) throw new ArgumentOutOfRangeException(nameof(countStddev), countStddev, "A noiseless count is not private.");
        if (double.IsPositiveInfinity(countStddev)) return noiseMultiplier;
        double rest = 1 / (noiseMultiplier * noiseMultiplier) - 1 / (4 * countStddev * countStddev);
        if (!(rest > 0))
            throw new ArgumentException($"The count noise σ_b = {countStddev:G4} alone uses the whole budget of z = {noiseMultiplier:G4} " +
                $"(it needs 2σ_b > z); raise countStddev or the expected contributors.");
        return 1 / Math.Sqrt(rest);
    }

    /// <summary>z = (z_Δ⁻² + (2σ_b)⁻²)^(−½): the multiplier the accountant composes for a sum at z_Δ and a count at σ_b.</summary>
    public static double CombinedNoiseMultiplier(double sumNoiseMultiplier, double countStddev)
    {
        if (!(sumNoiseMultiplier > 0) || !(countStddev > 0)) return 0;
        return 1 / Math.Sqrt(1 / (sumNoiseMultiplier * sumNoiseMultiplier) + 1 / (4 * countStddev * countStddev));
    }
}
