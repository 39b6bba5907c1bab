using Ftte.Federation.Privacy;

namespace Ftte.Federation.Tests.Privacy.Dp;

public class PrivacyBudgetTests
{
    [Fact]
    public void Check_StepWithinBudget_IsAllowed()
    {
        var accountant = new RdpAccountant();
        accountant.Step(0.01, 1.1, 100);
        var check = new PrivacyBudget(8, 1e-5).Check(accountant, 0.01, 1.1);
        Assert.True(check.Allowed);
        Assert.Null(check.Reason);
        Assert.Equal(101, check.Step);
        Assert.True(check.After.Epsilon > check.Now.Epsilon);
    }

    [Fact]
    public void Check_StepCrossingBudget_IsRefusedWithOneLineReason()
    {
        // At σ = 0.7 and q = 0.01 the budget ε ≤ 8 at δ = 1e-5 lasts 2,661 steps, so step 2,662 must be refused.
        var budget = new PrivacyBudget(8, 1e-5);
        var accountant = new RdpAccountant();
        long allowed = budget.RemainingSteps(accountant, 0.01, 0.7);
        accountant.Step(0.01, 0.7, allowed);
        var check = budget.Check(accountant, 0.01, 0.7);
        Assert.False(check.Allowed);
        Assert.True(check.Now.Epsilon <= 8);
        Assert.True(check.After.Epsilon > 8);
        Assert.Equal(allowed + 1, check.Step);
        Assert.Equal($"ε would reach {PrivacyFormat.Epsilon(check.After.Epsilon, 8)} > 8 at δ=1e-5 after step {allowed + 1:N0}", check.Reason);
        Assert.Matches(@"^ε would reach 8\.\d+ > 8 at δ=1e-5 after step \d{1,3}(,\d{3})+$", check.Reason);
    }

    [Fact]
    public void Check_CrossingStep_MessageIsExact()
    {
        var accountant = new RdpAccountant();
        var budget = new PrivacyBudget(8, 1e-5);
        long allowed = budget.RemainingSteps(accountant, 0.01, 0.7);
        Assert.Equal(2661, allowed);
        accountant.Step(0.01, 0.7, allowed);
        Assert.Equal("ε would reach 8.001 > 8 at δ=1e-5 after step 2,662", budget.Check(accountant, 0.01, 0.7).Reason);
    }

    [Fact]
    public void Check_DoesNotCompose()
    {
        var accountant = new RdpAccountant();
        new PrivacyBudget(1, 1e-5).Check(accountant, 0.5, 0.5, 100);
        Assert.Equal(0, accountant.Steps);
    }

    [Theory]
    [InlineData(0, 1e-5)]
    [InlineData(-1, 1e-5)]
    [InlineData(8, 0)]
    [InlineData(8, 1)]
    public void Constructor_InvalidBudget_Throws(double maxEpsilon, double delta)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new PrivacyBudget(maxEpsilon, delta));

    [Theory]
    [InlineData(1e-5, "1e-5")]
    [InlineData(2.5e-6, "2.5e-6")]
    [InlineData(1e-10, "1e-10")]
    [InlineData(0.01, "0.01")]
    [InlineData(0.5, "0.5")]
    public void FormatDelta_WritesItAsPapersDo(double delta, string expected) => Assert.Equal(expected, PrivacyFormat.Delta(delta));

    [Theory]
    [InlineData(8.0312, 8, "8.03")]
    [InlineData(8.004, 8, "8.004")]
    [InlineData(8.0000012, 8, "8.000001")]
    [InlineData(2.5, double.NaN, "2.50")]
    public void FormatEpsilon_ShowsTheDifferenceFromTheBudget(double epsilon, double versus, string expected)
        => Assert.Equal(expected, PrivacyFormat.Epsilon(epsilon, versus));
}
