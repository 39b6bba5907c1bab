namespace Ftte.Federation.Privacy;

/// <summary>A run of identical steps: <paramref name="Steps"/> steps of the SGM with sampling rate q and noise multiplier σ.</summary>
public sealed record MechanismRun(double Q, double Sigma, long Steps);

/// <summary>What to persist to resume an accountant exactly (RDP composes by addition, so the totals are the state).</summary>
public sealed record RdpAccountantState(double[] Orders, double[] Rdp, long Steps, MechanismRun[] History);

/// <summary>
/// Rényi-DP accountant for the sampled Gaussian mechanism (Mironov 2017; Mironov, Talwar &amp; Zhang 2019). RDP at
/// each order adds up over steps (Mironov 2017, Prop. 1), so steps may differ in q and σ — a semi-asynchronous
/// server's q = K/N moves as devices enrol — and the total converts to (ε, δ) at the order that minimises ε.
/// <code>
///   var accountant = new RdpAccountant();
///   accountant.Step(q: 0.01, sigma: 1.1, steps: 1000);
///   var spent = accountant.Epsilon(1e-5);     // spent.Epsilon, spent.Order
/// </code>
/// Not thread-safe. The per-step RDP of the last (q, σ) is cached, so a server stepping with the same
/// parameters pays one vector addition per step; a new (q, σ) costs about a millisecond.
/// </summary>
public sealed class RdpAccountant
{
    private readonly double[] _orders;
    private readonly double[] _rdp;
    private readonly List<MechanismRun> _history = [];
    private double[] _cachedStep;
    private double _cachedQ = double.NaN, _cachedSigma = double.NaN;

    /// <summary>
    /// The default order grid: 1.1, 1.2, …, 10.9 (TF-Privacy's and Opacus's fractional orders) and every integer
    /// from 2 to 256, a superset of both libraries' defaults, so our ε is never above theirs at the same conversion.
    /// The largest order matters for small ε; the fine low orders for large ε.
    /// </summary>
    public static IReadOnlyList<double> DefaultOrders { get; } = BuildDefaultOrders();

    /// <param name="orders">RDP orders α &gt; 1 (default <see cref="DefaultOrders"/>); ∞ is allowed and never wins.</param>
    public RdpAccountant(IEnumerable<double>? orders = null)
    {
        _orders = (orders ?? DefaultOrders).ToArray();
        if (_orders.Length == 0) throw new ArgumentException("At least one RDP order is needed.", nameof(orders));
        foreach (double order in _orders) SampledGaussianRdp.ValidateOrder(order);
        _rdp = new double[_orders.Length];
        _cachedStep = new double[_orders.Length];
    }

    /// <summary>Resumes from <see cref="ToState"/>.</summary>
    public static RdpAccountant FromState(RdpAccountantState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Rdp.Length != state.Orders.Length)
            throw new ArgumentException($"Accountant state has {state.Orders.Length} orders but {state.Rdp.Length} RDP values.", nameof(state));
        if (state.Steps < 0) throw new ArgumentException($"Accountant state has {state.Steps} steps.", nameof(state));
        var accountant = new RdpAccountant(state.Orders);
        for (int k = 0; k < state.Rdp.Length; k++)
        {
            if (!(state.Rdp[k] >= 0)) throw new ArgumentException($"Accountant state has RDP {state.Rdp[k]} at order {state.Orders[k]}.", nameof(state));
            accountant._rdp[k] = state.Rdp[k];
        }
        accountant.Steps = state.Steps;
        accountant._history.AddRange(state.History ?? []);
        return accountant;
    }

    public RdpAccountantState ToState() => new([.. _orders], [.. _rdp], Steps, [.. _history]);

    public IReadOnlyList<double> Orders => _orders;
    /// <summary>Composed RDP at each of <see cref="Orders"/>.</summary>
    public ReadOnlySpan<double> Rdp => _rdp;
    /// <summary>Steps composed so far.</summary>
    public long Steps { get; private set; }
    /// <summary>The steps composed, run-length encoded in order (consecutive steps with equal q and σ share a run).</summary>
    public IReadOnlyList<MechanismRun> History => _history;

    /// <summary>Composes <paramref name="steps"/> steps of the SGM with sampling rate <paramref name="q"/> ∈ [0, 1] and noise multiplier <paramref name="sigma"/> ≥ 0.</summary>
    public void Step(double q, double sigma, long steps = 1)
    {
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"Steps must be ≥ 0; got {steps}.");
        var perStep = PerStep(q, sigma);
        if (steps == 0) return;
        for (int k = 0; k < _rdp.Length; k++) _rdp[k] += steps * perStep[k];
        Steps += steps;
        if (_history.Count > 0 && _history[^1] is var last && last.Q == q && last.Sigma == sigma)
            _history[^1] = last with { Steps = last.Steps + steps };
        else
            _history.Add(new MechanismRun(q, sigma, steps));
    }

    /// <summary>(ε, δ) of everything composed so far, at the best order.</summary>
    public PrivacySpent Epsilon(double delta, RdpConversion conversion = RdpConversion.Improved)
        => RdpToDp.Epsilon(_orders, _rdp, delta, conversion);

    /// <summary>What <see cref="Epsilon"/> would say after <paramref name="steps"/> more steps of (q, σ), without composing them.</summary>
    public PrivacySpent EpsilonAfter(double q, double sigma, long steps, double delta, RdpConversion conversion = RdpConversion.Improved)
    {
        if (steps < 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"Steps must be ≥ 0; got {steps}.");
        var perStep = PerStep(q, sigma);
        var total = new double[_rdp.Length];
        for (int k = 0; k < total.Length; k++) total[k] = _rdp[k] + steps * perStep[k];
        return RdpToDp.Epsilon(_orders, total, delta, conversion);
    }

    /// <summary>
    /// The most further steps of (q, σ) that keep ε ≤ <paramref name="maxEpsilon"/> at δ (0 if even one exceeds it;
    /// <see cref="long.MaxValue"/> if no number of steps does, e.g. q = 0).
    /// </summary>
    public long RemainingSteps(double q, double sigma, double maxEpsilon, double delta, RdpConversion conversion = RdpConversion.Improved)
    {
        if (!(maxEpsilon >= 0)) throw new ArgumentOutOfRangeException(nameof(maxEpsilon), maxEpsilon, $"ε_max must be ≥ 0; got {maxEpsilon}.");
        RdpToDp.ValidateDelta(delta);
        var perStep = PerStep(q, sigma);
        var total = new double[_rdp.Length];
        bool Fits(long n)
        {
            for (int k = 0; k < total.Length; k++) total[k] = _rdp[k] + n * perStep[k];
            return RdpToDp.Epsilon(_orders, total, delta, conversion).Epsilon <= maxEpsilon;
        }
        if (!Fits(1)) return 0;
        // ε is non-decreasing in the number of steps: gallop, then bisect.
        long good = 1, bad = 2;
        while (Fits(bad))
        {
            good = bad;
            if (bad > long.MaxValue / 4) return long.MaxValue;
            bad *= 2;
        }
        while (bad - good > 1)
        {
            long mid = good + (bad - good) / 2;
            if (Fits(mid)) good = mid; else bad = mid;
        }
        return good;
    }

    private double[] PerStep(double q, double sigma)
    {
        SampledGaussianRdp.Validate(q, sigma);
        if (q != _cachedQ || sigma != _cachedSigma)
        {
            SampledGaussianRdp.Rdp(q, sigma, _orders, _cachedStep);
            _cachedQ = q;
            _cachedSigma = sigma;
        }
        return _cachedStep;
    }

    private static double[] BuildDefaultOrders()
    {
        var orders = new List<double>();
        for (int x = 1; x < 100; x++)
            if (x % 10 != 0) orders.Add(1 + x / 10.0);
        for (int a = 2; a <= 256; a++) orders.Add(a);
        orders.Sort();
        return [.. orders];
    }
}
