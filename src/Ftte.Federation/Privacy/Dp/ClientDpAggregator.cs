using Ftte.Engine;

namespace Ftte.Federation.Privacy;

/// <summary>Where the Gaussian noise of a step is added.</summary>
public enum DpNoisePlacement
{
    /// <summary>The server clips each update and noises the sum (a trusted server sees single updates).</summary>
    Central,
    /// <summary>
    /// Each device clips and adds its share N(0, z²C²/t), so that the sum over at least t devices carries the central
    /// noise; meaningful with secure aggregation, where the server only ever sees that sum.
    /// </summary>
    Distributed,
}

/// <summary>Client-level DP for one run (see <see cref="ClientDpAggregator"/>).</summary>
public sealed record ClientDpOptions
{
    /// <summary>z: the step's noise multiplier, which the accountant composes. Without adaptive clipping the sum gets N(0, z²C²); with it, z is split between sum and count.</summary>
    public required double NoiseMultiplier { get; init; }
    /// <summary>C: the L2 clipping norm of an update (the initial one with adaptive clipping).</summary>
    public required double ClipNorm { get; init; }
    /// <summary>K: updates per server step, the fixed denominator of the released mean (and adaptive clipping's expected count).</summary>
    public required int BufferSize { get; init; }
    /// <summary>Central (default) or distributed noise.</summary>
    public DpNoisePlacement Placement { get; init; } = DpNoisePlacement.Central;
    /// <summary>Distributed mode: t, the fewest contributors a step may be released with (devices' noise shares are σC/√t). Default: K.</summary>
    public int? MinContributors { get; init; }
    /// <summary>Adaptive clipping (Andrew et al. 2021); null keeps C fixed.</summary>
    public AdaptiveClippingOptions? AdaptiveClipping { get; init; }
    /// <summary>
    /// ε_max: a step that would take ε above it is refused; null: no limit, ε is still reported. With
    /// <see cref="MaxParticipations"/> it bounds the per-device guarantee (see <see cref="PrivateStep"/>), not the sampled ε.
    /// </summary>
    public double? MaxEpsilon { get; init; }
    /// <summary>
    /// Participation cap: a device contributes to at most this many released steps, then leaves the pool, so every device's
    /// ε is at most that of this many unsampled Gaussian mechanisms at z, with no sampling assumption (enforced by
    /// <see cref="PrivateStep"/>); null: no cap.
    /// </summary>
    public int? MaxParticipations { get; init; }
    /// <summary>δ at which ε is reported and the budget is kept (default 1e-5).</summary>
    public double Delta { get; init; } = 1e-5;
    /// <summary>RDP → (ε, δ) conversion; default the improved one.</summary>
    public RdpConversion Conversion { get; init; } = RdpConversion.Improved;
    /// <summary>RDP orders; null: <see cref="RdpAccountant.DefaultOrders"/>.</summary>
    public IReadOnlyList<double>? Orders { get; init; }
}

/// <summary>What one server step released, for the run record, the report and `ftte status`. Only noised quantities.</summary>
/// <param name="Step">Steps released so far, this one included.</param>
/// <param name="Spent">ε at δ after this step.</param>
/// <param name="Q">The sampling rate composed for this step.</param>
/// <param name="NoiseMultiplier">z composed for this step.</param>
/// <param name="SumNoiseStddev">Standard deviation of the noise on each coordinate of the sum (z_Δ·C).</param>
/// <param name="ClipNorm">C used in this step.</param>
/// <param name="NextClipNorm">C for the next step (differs only with adaptive clipping).</param>
/// <param name="Contributors">Updates in the step (a public protocol quantity: the step happens at K).</param>
/// <param name="UnclippedFraction">Adaptive clipping's noised b̄; null without it.</param>
public sealed record DpRelease(long Step, PrivacySpent Spent, double Q, double NoiseMultiplier, double SumNoiseStddev,
    double ClipNorm, double NextClipNorm, int Contributors, double? UnclippedFraction);

/// <summary>To resume a run after a restart: the accountant and the clipping norm.</summary>
public sealed record ClientDpState(RdpAccountantState Accountant, double ClipNorm)
{
    /// <summary>
    /// Released steps each device contributed to (<see cref="PrivateStep"/>'s; the aggregator itself does not keep them), so a
    /// restarted server still enforces the participation cap. Null in states saved before it was kept: no counts.
    /// </summary>
    public Dictionary<int, long>? StepsPerDevice { get; init; }
}

/// <summary>
/// Client-level DP for a buffered server step (DP-FedAvg, McMahan et al. 2018; adaptive clipping, Andrew et al. 2021),
/// in the order a strategy calls it: <b>add</b> each update (clip to C, weight ≤ 1), <b>check</b> the budget,
/// <b>release</b> (noise the sum, divide by K, apply to the model, account the step, adapt C).
/// <code>
///   // FedBuff/FTTE under DP, in OnUpdate:
///   if (dp.HasContributed(update.DeviceId)) hold it for the next step;
///   dp.Add(update, weight: s(τ));                                   // clipped on the fly, Δ untouched
///   if (dp.Count == K)
///   {
///       double q = ClientDpAggregator.SamplingRate(K, population);
///       if (!dp.CheckBudget(q).Allowed) stop the run with that Reason;
///       var release = dp.Release(host.Global.Weights, q, η_g);      // x ← x + η_g·(Σ wᵢ·clip(Δᵢ) + N(0, z²C²))/K
///       host.Commit(K); record release.Spent.Epsilon with the version; persist dp.ToState() with it
///   }
/// </code>
///
/// <para><b>Design: DP on the semi-asynchronous buffered server (FedBuff, FTTE).</b> A population of N_t enrolled devices,
/// M tasks in flight, a server step every K arrivals. What is protected is a <i>device</i> (client-level DP,
/// add/remove-one adjacency on devices, as McMahan et al. 2018): every released global version, not just the last.</para>
///
/// <para><i>One step is one sampled Gaussian mechanism.</i> Step t releases
/// x_{t+1} = x_t + η_g·(Σ_{i∈B_t} wᵢ·clip_{C_t}(Δᵢ) + N(0, z²C_t²·I))/K. Its L2 sensitivity to one device is C_t
/// when (1) each weight wᵢ ∈ (0, 1] — FedBuff's age weight s(τ) = (1+τ)^(−½) qualifies, and staleness is the
/// server's scheduling, not data; FTTE's variance weight vᵢ depends on the <i>other</i> updates of the buffer, so one
/// device moves everyone's weight: it must be off under DP (v ≡ 1) — and it cannot be computed under secure
/// aggregation anyway; (2) a device contributes at most once per step: <see cref="Add(ClientUpdate, double)"/> refuses
/// a second update from the same device (a fast device may finish two tasks within one buffer; hold the second for the
/// next step); (3) the denominator is the fixed K, never the data-dependent Σw or per-coordinate counts: FedBuff
/// already divides by K, FTTE's Σv is K when v ≡ 1. With partial or nested trainable sets the noise goes on every
/// coordinate the step <i>could</i> have changed — the released ranges, the union of the sets the server assigns —
/// including coordinates no update in this buffer trained: which coordinates move must not reveal who contributed.
/// (Nested subsets would need per-coordinate fixed denominators K·p_j, p_j the public share of eligible devices whose
/// level trains j; a scalar K is what this class implements.) A stale update costs nothing until the step that
/// aggregates it; a dropped one costs nothing at all.</para>
///
/// <para><i>What is q.</i> The accountant assumes Poisson sampling: each device is in a step's buffer independently
/// with probability q_t. The buffered server does not sample that way — it dispatches to idle devices, and the buffer
/// holds whoever finished first — so q_t = K/N_t (<see cref="SamplingRate"/>) is an approximation, the customary one
/// in cross-device FL where selection is never truly Poisson, and the run record must say so. N_t counts the devices
/// that can actually be selected at step t (enrolled and admitted by the memory rule, not merely known): public, and
/// changing as devices join, hence heterogeneous composition with one q per step. Participation is also uneven: fast
/// devices return more often (in the quick preset only 64 of 100 devices contribute at all), so a fast device sits in
/// far more than a fraction K/N of the buffers. The wiring should record per-device contribution counts: q = 1 with
/// the largest count c_max (<c>new RdpAccountant().Step(1, z, c_max)</c>, each contribution a Gaussian mechanism of
/// multiplier z) is a rigorous bound with no sampling assumption, worth reporting beside the amplified figure.</para>
///
/// <para><i>Noise per step.</i> z is fixed for the run, chosen before it with
/// <c>ftte privacy epsilon --sigma-for-epsilon ε_max --q K/N --steps T --delta δ</c> (<see cref="NoiseCalibration"/>)
/// for the planned number of steps T; the noise follows C_t. Central: the server adds N(0, z_Δ²C_t²) to the weighted
/// sum, z_Δ = z without adaptive clipping, z_Δ = (z⁻² − (2σ_b)⁻²)^(−½) with it. Distributed: each device adds
/// N(0, z_Δ²C_t²/t) after clipping with the C_t it was sent; the server refuses to release a step with fewer than t
/// contributors (the noise would fall short); with more than t the noise is larger than needed, and the accountant
/// still composes z — conservative, and it is also what remains if up to n − t devices collude and subtract their
/// own shares. Per-update weights must be 1 in distributed mode (a weight scales the device's noise too).</para>
///
/// <para><i>Accounting and reporting.</i> After each release: <c>Accountant.Step(q_t, z)</c>, then ε(δ) at the best
/// order is in <see cref="DpRelease.Spent"/>; record it with the version (metrics, report, <c>ftte status</c>). The
/// budget guard looks ahead: a step that would take ε past ε_max is never released
/// (<see cref="PrivacyBudgetExceededException"/> carries the one-line reason), and a strategy should ask
/// <see cref="CheckBudget"/> before dispatching more work. Persist <see cref="ToState"/> atomically with the version
/// it produced, before serving that version: a version served and then lost in a crash would be re-released with
/// fresh noise, a second release the accountant must not miss. Buffered but unreleased updates replayed after a
/// restart cost nothing.</para>
/// </summary>
public sealed class ClientDpAggregator
{
    private readonly double[] _sum;
    private readonly WeightRange[] _released;
    private readonly HashSet<int> _contributors = [];
    private readonly NoiseSource _noise;
    private readonly AdaptiveClipping? _adaptive;
    private readonly PrivacyBudget _budget;
    private double _fixedClipNorm;
    private int _unclipped;
    private double _centeredBits;

    /// <param name="parameters">Model length.</param>
    /// <param name="released">Coordinates a step may change: noised and applied every step; null: the whole model.</param>
    /// <param name="noise">Noise for the sum and the count: <see cref="NoiseSource.Secure"/> in deployment, seeded in simulation.</param>
    /// <param name="resume">State saved by <see cref="ToState"/>, to continue a run.</param>
    public ClientDpAggregator(int parameters, ClientDpOptions options, NoiseSource noise, IReadOnlyList<WeightRange>? released = null, ClientDpState? resume = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(noise);
        if (parameters < 1) throw new ArgumentOutOfRangeException(nameof(parameters), parameters, "The model needs at least one parameter.");
        Options = Validate(options);
        _noise = noise;
        _sum = new double[parameters];
        _released = Normalise(released ?? [new WeightRange(0, parameters)], parameters);
        _budget = new PrivacyBudget(options.MaxEpsilon ?? double.PositiveInfinity, options.Delta, options.Conversion);
        _fixedClipNorm = options.ClipNorm;
        if (options.AdaptiveClipping is { } adaptive)
        {
            _adaptive = new AdaptiveClipping(options.ClipNorm, options.BufferSize, adaptive);
            SumNoiseMultiplier = AdaptiveClipping.SumNoiseMultiplier(options.NoiseMultiplier, _adaptive.CountStddev);
        }
        else SumNoiseMultiplier = options.NoiseMultiplier;
        Accountant = resume is null ? new RdpAccountant(options.Orders) : RdpAccountant.FromState(resume.Accountant);
        if (resume is not null)
        {
            if (_adaptive is not null) _adaptive.Restore(resume.ClipNorm);
            else _fixedClipNorm = resume.ClipNorm;
        }
    }

    public ClientDpOptions Options { get; }
    public RdpAccountant Accountant { get; }
    /// <summary>z_Δ: the multiplier of the sum's noise (z itself without adaptive clipping).</summary>
    public double SumNoiseMultiplier { get; }
    /// <summary>The C the current step clips to.</summary>
    public double ClipNorm => _adaptive?.ClipNorm ?? _fixedClipNorm;
    /// <summary>Distributed mode: the standard deviation each device adds to each coordinate this step.</summary>
    public double DeviceNoiseStddev => ClientDp.DistributedStddev(SumNoiseMultiplier, ClipNorm, MinContributors);
    /// <summary>Distributed mode with adaptive clipping: the noise each device adds to its bᵢ − ½.</summary>
    public double DeviceCountStddev => _adaptive?.DeviceCountStddev(MinContributors) ?? 0;
    /// <summary>t of the distributed mode (K unless set).</summary>
    public int MinContributors => Options.MinContributors ?? Options.BufferSize;
    /// <summary>Updates in the current step.</summary>
    public int Count => _contributors.Count;
    /// <summary>The coordinates every step noises and applies.</summary>
    public IReadOnlyList<WeightRange> Released => _released;

    /// <summary>q_t = K/N_t, capped at 1: the sampling rate assumed for a step of K updates out of N eligible devices.</summary>
    public static double SamplingRate(int bufferSize, int population)
    {
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "K must be ≥ 1.");
        if (population < 1) throw new ArgumentOutOfRangeException(nameof(population), population, "The population must be ≥ 1.");
        return Math.Min(1.0, (double)bufferSize / population);
    }

    /// <summary>Has this device already contributed to the current step? (A second update must wait for the next.)</summary>
    public bool HasContributed(int deviceId) => _contributors.Contains(deviceId);

    /// <summary>Central mode: clips <paramref name="update"/> to C on the fly (its Δ is not modified) and adds it with weight wᵢ ∈ (0, 1]. Returns ‖Δ‖ before clipping.</summary>
    public double Add(ClientUpdate update, double weight = 1.0)
    {
        ArgumentNullException.ThrowIfNull(update);
        return Add(update.DeviceId, update.Delta, update.Ranges, weight);
    }

    /// <summary>Central mode: the same for a raw delta (model-length, trained over <paramref name="ranges"/>).</summary>
    public double Add(int deviceId, ReadOnlySpan<float> delta, ReadOnlySpan<WeightRange> ranges, double weight = 1.0)
    {
        if (Options.Placement != DpNoisePlacement.Central)
            throw new InvalidOperationException("In distributed mode updates arrive clipped and noised by the devices: use AddNoised or AddSecureSum.");
        if (!(weight > 0 && weight <= 1))
            throw new ArgumentOutOfRangeException(nameof(weight), weight, $"A DP aggregation weight must be in (0, 1]; {weight} would move the sensitivity off C.");
        CheckUpdate(deviceId, delta.Length, ranges);
        double norm = ClientDp.L2Norm(delta, ranges);
        double c = ClipNorm;
        double scale = weight * ClientDp.ClipScale(norm, c);
        foreach (var r in ranges)
        {
            var d = delta.Slice(r.Offset, r.Length);
            var s = _sum.AsSpan(r.Offset, r.Length);
            for (int j = 0; j < d.Length; j++) s[j] += scale * d[j];
        }
        if (norm <= c) _unclipped++;
        _contributors.Add(deviceId);
        return norm;
    }

    /// <summary>
    /// Distributed mode without secure aggregation: a device's update, already clipped to <see cref="ClipNorm"/> and noised
    /// with <see cref="DeviceNoiseStddev"/> on the device (<see cref="ClientDp.ClipAndNoise"/>); with adaptive clipping,
    /// its bᵢ − ½ plus N(0, <see cref="DeviceCountStddev"/>²).
    /// </summary>
    public void AddNoised(int deviceId, ReadOnlySpan<float> noisedDelta, ReadOnlySpan<WeightRange> ranges, double noisedCenteredBit = 0)
    {
        RequireDistributed();
        CheckUpdate(deviceId, noisedDelta.Length, ranges);
        ClientDp.EnsureDisjoint(ranges);
        foreach (var r in ranges)
        {
            var d = noisedDelta.Slice(r.Offset, r.Length);
            var s = _sum.AsSpan(r.Offset, r.Length);
            for (int j = 0; j < d.Length; j++) s[j] += d[j];
        }
        _centeredBits += noisedCenteredBit;
        _contributors.Add(deviceId);
    }

    /// <summary>
    /// With secure aggregation: the unmasked sum of <paramref name="contributors"/>' updates, clipped to C by the devices —
    /// and noised by them in distributed mode (with their noised bᵢ − ½); in central mode the release adds the noise.
    /// </summary>
    public void AddSecureSum(ReadOnlySpan<float> sum, IReadOnlyCollection<int> contributors, double noisedCenteredBitSum = 0)
    {
        if (Options.Placement == DpNoisePlacement.Central && _adaptive is not null)
            throw new InvalidOperationException("Central adaptive clipping counts clipped updates one by one, which a secure sum hides; use a fixed clip norm.");
        ArgumentNullException.ThrowIfNull(contributors);
        if (sum.Length != _sum.Length) throw new ArgumentException($"The secure sum has {sum.Length} values; the model has {_sum.Length}.", nameof(sum));
        foreach (int id in contributors)
            if (_contributors.Contains(id)) throw new InvalidOperationException($"Device {id} already contributed to this step.");
        if (new HashSet<int>(contributors).Count != contributors.Count) throw new ArgumentException("A device appears twice among the contributors.", nameof(contributors));
        foreach (var r in _released)
        {
            var d = sum.Slice(r.Offset, r.Length);
            var s = _sum.AsSpan(r.Offset, r.Length);
            for (int j = 0; j < d.Length; j++) s[j] += d[j];
        }
        _centeredBits += noisedCenteredBitSum;
        foreach (int id in contributors) _contributors.Add(id);
    }

    /// <summary>Would releasing the current step at sampling rate <paramref name="q"/> keep ε within ε_max? (Always allowed without ε_max.)</summary>
    public BudgetCheck CheckBudget(double q) => _budget.Check(Accountant, q, Options.NoiseMultiplier);

    /// <summary>
    /// Releases the step: noise on the sum (central mode), x_j ← x_j + η·sum_j/K on every released coordinate, the step
    /// composed at (q, z), C adapted, the buffer cleared. Throws <see cref="PrivacyBudgetExceededException"/> — and releases
    /// nothing — if ε would pass ε_max; in distributed mode, throws if fewer than t devices contributed.
    /// </summary>
    public DpRelease Release(Span<float> weights, double q, double serverLearningRate = 1.0)
    {
        if (weights.Length != _sum.Length) throw new ArgumentException($"The model has {weights.Length} values; the aggregator {_sum.Length}.", nameof(weights));
        if (!(q > 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, $"The sampling rate q must be in (0, 1]; got {q}.");
        if (!double.IsFinite(serverLearningRate)) throw new ArgumentOutOfRangeException(nameof(serverLearningRate), serverLearningRate, "The server learning rate must be finite.");
        if (Count == 0) throw new InvalidOperationException("No update to release.");
        if (Options.Placement == DpNoisePlacement.Distributed && Count < MinContributors)
            throw new InvalidOperationException($"Only {Count} devices contributed; the distributed noise needs at least {MinContributors} for N(0, z²C²). The step is not released.");
        var check = CheckBudget(q);
        if (!check.Allowed) throw new PrivacyBudgetExceededException(check);

        double clip = ClipNorm;
        double sumStddev = SumNoiseMultiplier * clip;
        if (Options.Placement == DpNoisePlacement.Central)
            ClientDp.AddGaussianNoise(_sum, _released, sumStddev, _noise);
        double factor = serverLearningRate / Options.BufferSize;
        foreach (var r in _released)
            for (int j = r.Offset; j < r.End; j++)
                weights[j] = (float)(weights[j] + factor * _sum[j]);

        double? fraction = null;
        if (_adaptive is not null)
        {
            if (Options.Placement == DpNoisePlacement.Central) _adaptive.Update(_unclipped, Count, _noise);
            else _adaptive.UpdateFromNoisySum(_centeredBits);
            fraction = _adaptive.LastUnclippedFraction;
        }
        Accountant.Step(q, Options.NoiseMultiplier);
        var release = new DpRelease(Accountant.Steps, Accountant.Epsilon(Options.Delta, Options.Conversion), q, Options.NoiseMultiplier,
            sumStddev, clip, ClipNorm, Count, fraction);
        Clear();
        return release;
    }

    /// <summary>Drops the current step's updates without releasing anything (costs no privacy).</summary>
    public void Clear()
    {
        Array.Clear(_sum);
        _contributors.Clear();
        _unclipped = 0;
        _centeredBits = 0;
    }

    public ClientDpState ToState() => new(Accountant.ToState(), ClipNorm);

    private void RequireDistributed()
    {
        if (Options.Placement != DpNoisePlacement.Distributed)
            throw new InvalidOperationException("In central mode the server clips and noises: use Add.");
    }

    private void CheckUpdate(int deviceId, int length, ReadOnlySpan<WeightRange> ranges)
    {
        if (length != _sum.Length) throw new ArgumentException($"The update of device {deviceId} has {length} values; the model has {_sum.Length}.");
        if (_contributors.Contains(deviceId))
            throw new InvalidOperationException($"Device {deviceId} already contributed to this step; a second update would double its sensitivity. Hold it for the next step.");
        foreach (var r in ranges)
            if (!IsReleased(r))
                throw new ArgumentException($"Device {deviceId} trained [{r.Offset}, {r.End}), outside the released coordinates; they would carry signal without noise.");
    }

    private bool IsReleased(WeightRange r)
    {
        if (r.Length == 0) return true;
        int lo = 0, hi = _released.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (_released[mid].Offset <= r.Offset) { found = mid; lo = mid + 1; } else hi = mid - 1;
        }
        return found >= 0 && r.Offset >= 0 && r.End <= _released[found].End;
    }

    /// <summary>Sorted, with touching or overlapping ranges merged.</summary>
    private static WeightRange[] Normalise(IReadOnlyList<WeightRange> ranges, int parameters)
    {
        var sorted = ranges.Where(r => r.Length > 0).OrderBy(r => r.Offset).ToList();
        if (sorted.Count == 0) throw new ArgumentException("No coordinates are released.", nameof(ranges));
        var merged = new List<WeightRange>();
        foreach (var r in sorted)
        {
            if (r.Offset < 0 || r.End > parameters) throw new ArgumentOutOfRangeException(nameof(ranges), $"Range [{r.Offset}, {r.End}) is outside the model's {parameters} values.");
            if (merged.Count > 0 && r.Offset <= merged[^1].End)
                merged[^1] = new WeightRange(merged[^1].Offset, Math.Max(merged[^1].End, r.End) - merged[^1].Offset);
            else merged.Add(r);
        }
        return [.. merged];
    }

    private static ClientDpOptions Validate(ClientDpOptions o)
    {
        if (!(o.NoiseMultiplier > 0) || double.IsPositiveInfinity(o.NoiseMultiplier))
            throw new ArgumentOutOfRangeException(nameof(o), o.NoiseMultiplier, $"DP noiseMultiplier must be finite and > 0; got {o.NoiseMultiplier}.");
        ClientDp.ValidateClipNorm(o.ClipNorm);
        if (o.BufferSize < 1) throw new ArgumentOutOfRangeException(nameof(o), o.BufferSize, $"DP bufferSize (K) must be ≥ 1; got {o.BufferSize}.");
        if (o.MinContributors is { } t && (t < 1 || t > o.BufferSize))
            throw new ArgumentOutOfRangeException(nameof(o), t, $"DP minContributors must be in [1, K = {o.BufferSize}]; got {t}.");
        if (o.MaxEpsilon is { } e && !(e > 0)) throw new ArgumentOutOfRangeException(nameof(o), e, $"DP maxEpsilon must be > 0; got {e}.");
        if (o.MaxParticipations is < 1) throw new ArgumentOutOfRangeException(nameof(o), o.MaxParticipations, $"DP maxParticipations must be ≥ 1 or absent; got {o.MaxParticipations}.");
        RdpToDp.ValidateDelta(o.Delta);
        return o;
    }
}
