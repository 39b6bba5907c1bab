using System.Globalization;

namespace Ftte.Federation.Privacy;

/// <summary>The answer of <see cref="PrivacyBudget.Check"/>.</summary>
/// <param name="Allowed">True if the step keeps ε within the budget.</param>
/// <param name="Now">ε so far.</param>
/// <param name="After">ε if the step were taken.</param>
/// <param name="Step">The number the step would have (1-based).</param>
/// <param name="Reason">Why not, in one line, e.g. "ε would reach 8.03 &gt; 8 at δ=1e-5 after step 1,204"; null when allowed.</param>
public sealed record BudgetCheck(bool Allowed, PrivacySpent Now, PrivacySpent After, long Step, string? Reason);

/// <summary>A step was refused because it would take ε past the deployment's budget.</summary>
public sealed class PrivacyBudgetExceededException(BudgetCheck check) : InvalidOperationException(check.Reason)
{
    public BudgetCheck Check { get; } = check;
}

/// <summary>
/// A deployment's privacy budget (ε_max, δ): asked before each server step whether the step may be released.
/// The guard looks ahead (ε after the step, not before), so the released model never exceeds the budget.
/// </summary>
public sealed class PrivacyBudget
{
    public PrivacyBudget(double maxEpsilon, double delta, RdpConversion conversion = RdpConversion.Improved)
    {
        if (!(maxEpsilon > 0)) throw new ArgumentOutOfRangeException(nameof(maxEpsilon), maxEpsilon, $"ε_max must be > 0; got {maxEpsilon}.");
        RdpToDp.ValidateDelta(delta);
        MaxEpsilon = maxEpsilon;
        Delta = delta;
        Conversion = conversion;
    }

    public double MaxEpsilon { get; }
    public double Delta { get; }
    public RdpConversion Conversion { get; }

    /// <summary>May <paramref name="steps"/> more steps of (q, σ) be composed onto <paramref name="accountant"/> within the budget?</summary>
    public BudgetCheck Check(RdpAccountant accountant, double q, double sigma, long steps = 1)
    {
        ArgumentNullException.ThrowIfNull(accountant);
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"Steps must be ≥ 1; got {steps}.");
        var now = accountant.Epsilon(Delta, Conversion);
        var after = accountant.EpsilonAfter(q, sigma, steps, Delta, Conversion);
        long step = accountant.Steps + steps;
        bool allowed = after.Epsilon <= MaxEpsilon;
        string? reason = allowed ? null : string.Create(CultureInfo.InvariantCulture,
            $"ε would reach {PrivacyFormat.Epsilon(after.Epsilon, MaxEpsilon)} > {MaxEpsilon:0.######} at δ={PrivacyFormat.Delta(Delta)} after step {step:N0}");
        return new BudgetCheck(allowed, now, after, step, reason);
    }

    /// <summary>Steps of (q, σ) still allowed after what <paramref name="accountant"/> holds.</summary>
    public long RemainingSteps(RdpAccountant accountant, double q, double sigma)
    {
        ArgumentNullException.ThrowIfNull(accountant);
        return accountant.RemainingSteps(q, sigma, MaxEpsilon, Delta, Conversion);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"ε ≤ {MaxEpsilon:0.######} at δ={PrivacyFormat.Delta(Delta)}");
}
