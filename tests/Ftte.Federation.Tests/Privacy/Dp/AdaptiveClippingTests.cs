using Ftte.Core;
using Ftte.Federation.Privacy;

namespace Ftte.Federation.Tests.Privacy.Dp;

public class AdaptiveClippingTests
{
    /// <summary>
    /// Update norms drawn from a log-normal, ‖Δ‖ = exp(N(0, 0.5²)), whose γ-quantile is exp(0.5·Φ⁻¹(γ)). Starting 10×
    /// too small, with Andrew et al.'s settings (η_C = 0.2, σ_b = m/20, m = 100 updates per step), the noised geometric
    /// update settles within 10% of the quantile: the mean of C over the last 200 of 600 steps.
    /// </summary>
    [Theory]
    [InlineData(0.5, 0.0)]
    [InlineData(0.9, 1.2815515655446004)]
    [InlineData(0.2, -0.8416212335729143)]
    public void Update_LogNormalNorms_ConvergesToTheTargetQuantile(double gamma, double probit)
    {
        const int M = 100;
        double quantile = Math.Exp(0.5 * probit);
        var clipping = new AdaptiveClipping(initialClipNorm: 0.1 * quantile, expectedContributors: M, new AdaptiveClippingOptions(TargetQuantile: gamma));
        Assert.Equal(5.0, clipping.CountStddev);
        var rng = new Rng(17);
        var noise = NoiseSource.Seeded(18);
        double late = 0;
        for (int step = 0; step < 600; step++)
        {
            int unclipped = 0;
            for (int i = 0; i < M; i++)
                if (Math.Exp(0.5 * rng.NextGaussian()) <= clipping.ClipNorm) unclipped++;
            clipping.Update(unclipped, M, noise);
            if (step >= 400) late += clipping.ClipNorm / 200;
        }
        Assert.InRange(late, quantile * 0.9, quantile * 1.1);
    }

    [Fact]
    public void Update_AllUnclipped_ShrinksByAtMostTheLearningRate()
    {
        var clipping = new AdaptiveClipping(1.0, 10, new AdaptiveClippingOptions(TargetQuantile: 0.5, LearningRate: 0.2, CountStddev: 0.0));
        clipping.Update(10, 10, NoiseSource.Seeded(1));
        Assert.Equal(Math.Exp(-0.2 * 0.5), clipping.ClipNorm, 15);
        Assert.Equal(1.0, clipping.LastUnclippedFraction);
    }

    [Fact]
    public void UpdateFromNoisySum_ClampsTheFraction()
    {
        var clipping = new AdaptiveClipping(1.0, 10);
        clipping.UpdateFromNoisySum(+1000);
        Assert.Equal(1.0, clipping.LastUnclippedFraction);
        clipping.UpdateFromNoisySum(-1000);
        Assert.Equal(0.0, clipping.LastUnclippedFraction);
    }

    [Fact]
    public void NoiseMultipliers_SumAndCombined_AreInverse()
    {
        // Andrew et al. 2021: z = (z_Δ⁻² + (2σ_b)⁻²)^(−½); with z = 1 and σ_b = 5 (m = 100), z_Δ ≈ 1.005.
        double sum = AdaptiveClipping.SumNoiseMultiplier(1.0, 5.0);
        Assert.Equal(1 / Math.Sqrt(1 - 1 / 100.0), sum, 14);
        Assert.Equal(1.0, AdaptiveClipping.CombinedNoiseMultiplier(sum, 5.0), 14);
    }

    [Fact]
    public void SumNoiseMultiplier_CountNoiseTooSmall_Throws()
        => Assert.Throws<ArgumentException>(() => AdaptiveClipping.SumNoiseMultiplier(2.0, 0.5));

    [Fact]
    public void DeviceCountStddev_SplitsTheCountNoiseAcrossContributors()
    {
        var clipping = new AdaptiveClipping(1.0, 100);
        Assert.Equal(5.0 / Math.Sqrt(25), clipping.DeviceCountStddev(25), 15);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Constructor_QuantileOutsideOpenInterval_Throws(double gamma)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveClipping(1, 10, new AdaptiveClippingOptions(TargetQuantile: gamma)));
}
