using Ftte.Federation.Privacy;
using Ftte.Federation.Privacy.Internal;

namespace Ftte.Federation.Tests.Privacy.Dp;

/// <summary>
/// RDP of one step of the sampled Gaussian mechanism against published values and independent computations. Sources:
/// TF-Privacy tensorflow_privacy/privacy/analysis/rdp_accountant_test.py (TF), Google's dp_accounting
/// python/dp_accounting/rdp/rdp_privacy_accountant_test.py (DPA), and multi-precision integration with mpmath of
/// A_α = E_{z∼N(0,σ²)}[((1−q) + q·e^((2z−1)/(2σ²)))^α], the check TF and DPA run (test_compute_log_a_equals_mp).
/// </summary>
public class SampledGaussianRdpTests
{
    [Theory]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(1.1)]
    [InlineData(4.530877117)]
    [InlineData(10.0)]
    public void Rdp_QIsOne_EqualsTheGaussianMechanismExactly(double sigma)
    {
        // Mironov 2017: the Gaussian mechanism of sensitivity 1 and noise σ is (α, α/(2σ²))-RDP.
        foreach (double order in RdpAccountant.DefaultOrders)
            Assert.Equal(order / (2 * sigma * sigma), SampledGaussianRdp.Rdp(1.0, sigma, order));
    }

    [Fact]
    public void Rdp_QIsOne_MatchesTfPrivacyNoSamplingCase()
    {
        // TF test_compute_rdp_no_sampling: compute_rdp(1, 10, 1, 20) == 0.1.
        Assert.Equal(0.1, SampledGaussianRdp.Rdp(1, 10, 20), 15);
    }

    [Fact]
    public void Rdp_QIsZero_IsZero()
    {
        Assert.Equal(0.0, SampledGaussianRdp.Rdp(0, 10, 20));
        Assert.Equal(0.0, SampledGaussianRdp.Rdp(0, 0, 20));
    }

    [Fact]
    public void Rdp_SigmaIsZero_IsInfinite() => Assert.Equal(double.PositiveInfinity, SampledGaussianRdp.Rdp(0.1, 0, 2));

    [Fact]
    public void Rdp_SigmaSquaredOutOfDoubleRange_IsInfiniteOrZero()
    {
        Assert.Equal(double.PositiveInfinity, SampledGaussianRdp.Rdp(0.5, 1e-200, 2));
        Assert.Equal(double.PositiveInfinity, SampledGaussianRdp.Rdp(0.5, 1e-200, 2.5));
        Assert.Equal(0.0, SampledGaussianRdp.Rdp(0.5, 1e200, 2.5));
    }

    [Fact]
    public void Rdp_InfiniteOrder_IsInfinite() => Assert.Equal(double.PositiveInfinity, SampledGaussianRdp.Rdp(0.01, 2.5, double.PositiveInfinity));

    [Fact]
    public void Rdp_TfScalarExample_Matches()
    {
        // TF test_compute_rdp_scalar: compute_rdp(q=0.1, σ=2, steps=10, α=5) ≈ 0.07737 (5 places).
        Assert.Equal(0.07737, 10 * SampledGaussianRdp.Rdp(0.1, 2, 5), 5);
    }

    [Fact]
    public void Rdp_TfSequenceExample_MatchesWithinTheirTolerance()
    {
        // TF test_compute_rdp_sequence: compute_rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, ∞]), delta=1e-5.
        double[] orders = [1.5, 2.5, 5, 50, 100];
        double[] expected = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
        for (int k = 0; k < orders.Length; k++)
            Assert.InRange(50 * SampledGaussianRdp.Rdp(0.01, 2.5, orders[k]), expected[k] - 1e-5, expected[k] + 1e-5);
    }

    [Fact]
    public void Rdp_DpAccountingSequenceExample_MatchesWithinRelativeTolerance()
    {
        // DPA test_compute_rdp_poisson_sampled_gaussian: same setting, np.allclose(rtol=1e-4).
        double[] orders = [1.5, 2.5, 5, 50, 100];
        double[] expected = [6.5007e-04, 1.0854e-03, 2.1808e-03, 2.3846e-02, 1.6742e+02];
        for (int k = 0; k < orders.Length; k++)
            AssertClose(expected[k], 50 * SampledGaussianRdp.Rdp(0.01, 2.5, orders[k]), 1e-4);
    }

    /// <summary>
    /// log A_α = (α − 1)·ε(α) against mpmath quadrature (30 digits, maxdegree 8), at TF's and DPA's ten
    /// test_compute_log_a_equals_mp settings plus five of ours; their tolerance is rtol 1e-4. Quadrature itself is off
    /// by ~1e-4 relative at σ = 0.1, α ≈ 256 (integrands of width σ at z ≈ α); elsewhere we agree to ~1e-11.
    /// </summary>
    [Theory]
    [InlineData(1e-7, 0.1, 1.01, 4.0034123225263985e-8)]
    [InlineData(1e-6, 0.1, 256, 3260234.5099259759)]
    [InlineData(1e-5, 0.1, 256.1, 3263356.2822869579)]
    [InlineData(1e-6, 1.0, 27, 8.7695113048484979e-10)]
    [InlineData(1e-4, 1.0, 1.5, 6.4426869538366497e-9)]
    [InlineData(1e-3, 1.0, 2, 1.7182803522145154e-6)]
    [InlineData(0.01, 10, 20, 0.00019129699912842963)]
    [InlineData(0.1, 100, 20.5, 0.00019991818458068296)]
    [InlineData(0.99, 0.1, 256, 3263768.7077428363)]
    [InlineData(0.999, 100, 256.1, 3.2601080379731127)]
    [InlineData(0.01, 2.5, 1.5, 6.5007089718803974e-6)]
    [InlineData(0.01, 2.5, 2.5, 3.2562541707543729e-5)]
    [InlineData(0.3, 0.8, 3.7, 3.5102547001432746)]
    [InlineData(0.05, 0.5, 7.3, 70.111154404632948)]
    [InlineData(0.5, 2, 64.5, 467.26076507887178)]
    public void LogA_MatchesMultiPrecisionIntegration(double q, double sigma, double order, double logA)
        => AssertClose(logA, (order - 1) * SampledGaussianRdp.Rdp(q, sigma, order), 1e-4);

    [Theory]
    [InlineData(1e-6, 0.1, 256, 3260463.2292971608, 1e-15)]
    [InlineData(0.99, 0.1, 256, 3263997.4271140211, 1e-15)]
    [InlineData(1e-6, 1.0, 27, 8.7695113048484979e-10, 1e-10)]
    [InlineData(1e-3, 1.0, 2, 1.7182803522145154e-6, 1e-12)]
    public void LogA_IntegerOrder_MatchesTheExactBinomialSumInMultiPrecision(double q, double sigma, int order, double logA, double relative)
        // Σ_i C(α,i) qⁱ(1−q)^(α−i) e^((i²−i)/(2σ²)) summed in 50-digit mpmath: here the quadrature above is the inexact
        // one. log A ≈ 1e-9 is log(1 + 1e-9) from a sum of doubles: ~1e-20 absolute, hence the looser relative bound.
        => AssertClose(logA, (order - 1) * SampledGaussianRdp.Rdp(q, sigma, order), relative);

    [Theory]
    [InlineData(0.01, 0.35, 1.6, 0.025864976702393763)]
    [InlineData(0.01, 0.7, 4.4, 0.015487929224048052)]
    public void LogA_FractionalOrder_MatchesPiecewiseQuadratureTightly(double q, double sigma, double order, double logA)
        => AssertClose(logA, (order - 1) * SampledGaussianRdp.Rdp(q, sigma, order), 1e-10);

    [Theory]
    [InlineData(1e-5, 0.3)]
    [InlineData(0.004, 1.1)]
    [InlineData(0.01, 0.6)]
    [InlineData(0.1, 2.0)]
    [InlineData(0.5, 0.8)]
    [InlineData(0.9, 5.0)]
    public void Rdp_IsNonDecreasingInTheOrder(double q, double sigma)
    {
        // Rényi divergence is non-decreasing in α (van Erven & Harremoës 2014, Thm. 3): the fractional series must sit between its
        // integer neighbours, a check of one algorithm against the other across the whole default grid.
        double previous = 0;
        foreach (double order in RdpAccountant.DefaultOrders)
        {
            double rdp = SampledGaussianRdp.Rdp(q, sigma, order);
            Assert.True(rdp >= previous * (1 - 1e-12), $"ε({order}) = {rdp} < ε(previous order) = {previous} at q={q}, σ={sigma}");
            previous = rdp;
        }
    }

    [Fact]
    public void Rdp_SpanOverload_MatchesScalar()
    {
        double[] orders = [1.5, 2, 7.5, 32];
        var destination = new double[orders.Length];
        SampledGaussianRdp.Rdp(0.02, 1.3, orders, destination);
        for (int k = 0; k < orders.Length; k++) Assert.Equal(SampledGaussianRdp.Rdp(0.02, 1.3, orders[k]), destination[k]);
    }

    [Theory]
    [InlineData(-0.1, 1, 2)]
    [InlineData(1.1, 1, 2)]
    [InlineData(double.NaN, 1, 2)]
    [InlineData(0.1, -1, 2)]
    [InlineData(0.1, double.PositiveInfinity, 2)]
    [InlineData(0.1, 1, 1)]
    [InlineData(0.1, 1, 0.5)]
    public void Rdp_InvalidArguments_Throw(double q, double sigma, double order)
        => Assert.ThrowsAny<ArgumentException>(() => SampledGaussianRdp.Rdp(q, sigma, order));

    [Theory]
    [InlineData(-3, 0.69313613525044681032)]
    [InlineData(-1, 0.61123231767807049464)]
    [InlineData(0, 0.0)]
    [InlineData(0.5, -0.73501112983708440303)]
    [InlineData(1, -1.8496055099332482486)]
    [InlineData(1.9, -4.9323458627802689327)]
    [InlineData(2, -5.3649412646166375745)]
    [InlineData(2.1, -5.8160109688675550134)]
    [InlineData(3, -10.720363041981112568)]
    [InlineData(5, -27.200889545537434422)]
    [InlineData(10, -102.87988902484488857)]
    [InlineData(30, -903.97411711064387808)]
    [InlineData(100, -10005.177585122664333)]
    public void LogErfc_MatchesMultiPrecision(double x, double expected)
    {
        double actual = LogMath.LogErfc(x);
        if (expected == 0) Assert.Equal(0, actual, 15);
        else AssertClose(expected, actual, 1e-13);
    }

    [Fact]
    public void Log1pAndExpm1_AreAccurateForTinyArguments()
    {
        AssertClose(9.9999999995e-11, LogMath.Log1p(1e-10), 1e-15);
        AssertClose(-1.0000000500000033333e-7, LogMath.Log1p(-1e-7), 1e-15);
        AssertClose(1.00000000005e-10, LogMath.Expm1(1e-10), 1e-15);
        AssertClose(0.0010005001667083416681, LogMath.Expm1(0.001), 1e-14);
    }

    [Fact]
    public void LogAddAndLogSub_AreInverse()
    {
        double a = Math.Log(3.0), b = Math.Log(5.0);
        AssertClose(Math.Log(8.0), LogMath.LogAdd(a, b), 1e-15);
        AssertClose(Math.Log(2.0), LogMath.LogSub(b, a), 1e-15);
        Assert.Equal(a, LogMath.LogAdd(a, double.NegativeInfinity));
        Assert.True(double.IsNaN(LogMath.LogSub(a, b)));
    }

    internal static void AssertClose(double expected, double actual, double relative)
    {
        double tolerance = relative * Math.Abs(expected);
        Assert.True(Math.Abs(actual - expected) <= tolerance,
            $"expected {expected:R}, got {actual:R} (relative error {Math.Abs(actual - expected) / Math.Abs(expected):E2} > {relative:E0})");
    }
}
