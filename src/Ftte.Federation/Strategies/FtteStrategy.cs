using System.Globalization;
using System.Text;
using System.Text.Json;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Planning;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Privacy;
using Ftte.Federation.Privacy.SecAgg;
using Ftte.Federation.Selection;
using Ftte.Federation.Strategies.Internal;

namespace Ftte.Federation.Strategies;

/// <summary>Which parts of FTTE's aggregation weight are on (for the ablation: none / age only / age and variance).</summary>
public enum FtteWeighting { None, Age, AgeAndVariance }

/// <param name="Concurrency">M: devices training at once.</param>
/// <param name="BufferSize">K: updates per server step.</param>
/// <param name="ServerLearningRate">η_g.</param>
/// <param name="MaxStaleness">Updates with τ above this are dropped (counted as stale); null keeps all.</param>
/// <param name="Budget">How M_min is derived from the fleet; null: the minimum device memory (the paper's rule).</param>
/// <param name="Weighting">Aggregation weight (see <see cref="FtteStrategy"/>).</param>
/// <param name="Trainable">A fixed trainable set (ablations); null: chosen by <paramref name="Selection"/>. With
/// <paramref name="ReselectAfter"/>, the set trained until the re-selection (how a restarted server resumes its first choice).</param>
/// <param name="Selection">The search, or a baseline at the same budget.</param>
/// <param name="Contribution">Contribution analysis settings; null: the local batch and optimizer, 20 steps.</param>
/// <param name="Search">Evolutionary search settings; null: defaults with <paramref name="Seed"/>.</param>
/// <param name="Staleness">s(τ) of the age weight; null: 1/√(1+τ) (FedBuff).</param>
/// <param name="IgnoreMemory">Let every device take part whatever its memory (the shortfall is still counted).</param>
/// <param name="StragglerFactor">A device whose estimated task time exceeds this multiple of the K-th fastest device's is a
/// straggler and trains in its own pool (see <see cref="FtteStrategy"/>); 0 puts every device in one pool of M.</param>
/// <param name="StragglerConcurrency">Tasks the straggler pool keeps in flight; null: the same as M.</param>
/// <param name="NestedBudgets">Larger budgets (e.g. q0.5, q0.9) for nested subsets: a device trains the largest set
/// whose plan fits its memory, each set containing the smaller ones; null or empty: one subset w* for all.</param>
/// <param name="Privacy">Client-level DP at each server step (central mode); needs weighting none or age (the variance weight
/// depends on the other updates, so it would break the step's sensitivity C) and no nested subsets; null: none.</param>
/// <param name="SecureAggregation">Steps from SecAgg+ groups (<see cref="SecureGroups"/>): the server sees only sums, so weighting
/// none or age (applied by the device) and no nested subsets; null: updates in the clear.</param>
/// <param name="ReselectAfter">Re-selection checks after this many server steps and then at 2×, 4×, 8× … as many, until one
/// switches: measure the contributions again from the current global weights and re-run the search (same budget, same nested
/// budgets); when the best set beats the current one by <paramref name="ReselectMargin"/>, later dispatches train it and the
/// checks stop (see <see cref="FtteStrategy"/> for why there is one switch). Needs the search (and its proxy set,
/// also with a fixed first set); not with privacy or secure aggregation. null: the first set is kept (the paper's behaviour).
/// The config's default is 10 steps where re-selection applies (<see cref="Config.StrategyConfig.EffectiveReselectAfter"/>).</param>
/// <param name="ReselectMargin">A check switches only when the best set's measured contribution is at least this multiple of the
/// current set's at the same weights (≥ 1): a switch costs every device a new frozen part, so a marginal gain is not worth it.</param>
public sealed record FtteOptions(int Concurrency = 20, int BufferSize = 10, double ServerLearningRate = 1.0, int? MaxStaleness = null,
    MemoryBudget? Budget = null, FtteWeighting Weighting = FtteWeighting.AgeAndVariance, string? Trainable = null,
    SelectionMethod Selection = SelectionMethod.Search, ContributionOptions? Contribution = null, SearchOptions? Search = null,
    StalenessFunction? Staleness = null, bool IgnoreMemory = false, ulong Seed = 1,
    double StragglerFactor = 4.0, int? StragglerConcurrency = null, IReadOnlyList<MemoryBudget>? NestedBudgets = null,
    ClientDpOptions? Privacy = null, SecureAggregationOptions? SecureAggregation = null, int? ReselectAfter = null,
    double ReselectMargin = FtteOptions.DefaultReselectMargin)
{
    /// <summary>20% better: a clear gain, not a near-tie between sets of similar contribution, and below the 1.5–3.3× by which
    /// the set chosen on trained weights beat the first choice on paper-fmnist (single re-selections at 10, 20 and 100 steps).</summary>
    public const double DefaultReselectMargin = 1.2;

    /// <summary>Whether the server step count <paramref name="steps"/> is a re-selection check: N, 2N, 4N, … for N = <see cref="ReselectAfter"/>.</summary>
    public bool IsReselectionCheck(int steps)
    {
        if (ReselectAfter is not { } n || n < 1 || steps < n || steps % n != 0) return false;
        int k = steps / n;
        return (k & (k - 1)) == 0;
    }
}

/// <summary>A re-selection check (<see cref="FtteOptions.ReselectAfter"/>): the measured contribution of the current w* and of the best set found there.</summary>
/// <param name="AfterSteps">Server steps made before it.</param>
/// <param name="Current">Contribution of the w* trained until then, measured at the check's weights.</param>
/// <param name="Best">Contribution of the search's choice there.</param>
/// <param name="Switched">Whether the best beat the current set by the margin (and later tasks train it).</param>
public sealed record ReselectionCheck(int AfterSteps, double At, double Current, double Best, bool Switched);

/// <summary>A re-selection (<see cref="FtteOptions.ReselectAfter"/>): when it happened and the sets it replaced.</summary>
/// <param name="AfterSteps">Server steps made before it.</param>
/// <param name="At">Host time of the switch.</param>
/// <param name="Before">The nested levels (w* first) trained until then.</param>
public sealed record Reselection(int AfterSteps, double At, IReadOnlyList<TaskSpec> Before)
{
    /// <summary>Measured contribution, on the weights of the re-selection, of the w* trained until then and of the new w*.</summary>
    public double BeforeContribution { get; init; } = double.NaN;
    public double NowContribution { get; init; } = double.NaN;
    /// <summary>Updates of the old sets that arrived after the switch and were merged on the coordinates the new sets train.</summary>
    public int LateMerged { get; internal set; }
    /// <summary>Updates of the old sets that arrived after the switch with no coordinate the new sets train (dropped as late).</summary>
    public int LateDropped { get; internal set; }
}

/// <summary>Per-update factors of one server step: age a_i, variance v_i, and the effective share a_i·v_i/Σv.</summary>
public sealed record BufferWeights(double[] Age, double[] Variance, double[] Dispersion)
{
    public double[] Shares()
    {
        double sv = Variance.Sum();
        return [.. Age.Select((a, i) => a * Variance[i] / sv)];
    }
}

/// <summary>
/// FTTE (Tenison et al., arXiv 2510.03165): partial model broadcast of a trainable subset w* chosen under the
/// weakest device's memory budget, a semi-asynchronous buffered server, and aggregation weighted by the age and
/// the variance of each update.
///
/// <para><b>Subset.</b> At <see cref="Start"/>: M_min from the fleet (<see cref="MemoryBudget"/>); contribution
/// analysis on the server's proxy set (<see cref="ContributionAnalysis"/>, after Lin et al. 2022); the search
/// (<see cref="ParameterSearch"/>) picks w* maximising Σ contribution with planned peak ≤ M_min, halving the batch
/// if nothing fits. Chosen once, from the initial global weights — or, with <see cref="FtteOptions.ReselectAfter"/>, checked
/// again after N, 2N, 4N … server steps from the weights trained so far, and changed once, at the first check where the
/// measured best beats the current set by <see cref="FtteOptions.ReselectMargin"/>: contributions measured on random initial
/// weights need not predict what trains best later, and doubling the spacing keeps the checks few. Once only, because the
/// first-order measure is myopic: the set being trained has its gradient used up while the frozen part's grows as the
/// features under it move, so with checks after every switch the choice alternated between two sets (measured on
/// paper-mnist: `conv2, fc1=1/8, fc2` ↔ `fc1, fc2` at steps 20 and 40), each time costing every device a new frozen part. A server keeps both choices across restarts: the first in the run's stored
/// config, the second in <see cref="SaveState"/>. Tasks use <see cref="Broadcast.TrainableOnly"/>:
/// the frozen part travels once per device, then only w* down and Δw* up; after a re-selection the frozen part is a
/// new one, so every device pays its first contact again.</para>
///
/// <para><b>Server.</b> As FedBuff (Nguyen et al. 2022): M tasks in flight on random idle eligible devices, each
/// finished or failed task replaced at once; arrivals with τ &gt; maxStaleness are dropped; the others are buffered
/// and at K the server steps.</para>
///
/// <para><b>Straggler pool</b> (ours). With uniform sampling, a device that needs minutes per task holds its slot for
/// minutes while a phone would have cycled through it a hundred times: in a fleet of 90% stragglers nearly every
/// slot ends up held by a straggler and the server, though asynchronous, crawls at straggler pace. FTTE estimates
/// each device's task time from what it declares (latency + w* bytes·8/downlink + planned FLOPs/compute + Δw*
/// bytes·8/uplink) and calls it a straggler above <see cref="FtteOptions.StragglerFactor"/> × the time of the K-th
/// fastest eligible device (a server step needs K updates). The
/// M slots go to non-stragglers; stragglers train in a separate pool of their own, so they still contribute (their
/// data counts, their stale updates are down-weighted by age) but never occupy the fast devices' slots.</para>
///
/// <para><b>Weighting</b> (ours; the paper names the ingredients, not the formula). For the buffer i = 1..K, over
/// the coordinates each update trained:
/// <code>
///   a_i = s(τ_i),   s(τ) = (1+τ)^(−1/2)                                 age (FedBuff's staleness weight)
///   Δ̄   = mean_i Δ_i                                                    buffer consensus, per coordinate
///   ρ_i = ‖Δ_i − Δ̄‖² / mean_j ‖Δ_j − Δ̄‖²                               relative dispersion (1 when all equal)
///   v_i = 1 / (1 + ρ_i)                                                 variance weight
///   x  ← x + η_g · Σ_i a_i v_i Δ_i / Σ_i v_i
/// </code>
/// Dividing by Σv rather than Σ a·v keeps FedBuff's property that a stale buffer moves the model less (with v ≡ 1
/// this is exactly FedBuff's Σ s(τ_i)Δ_i / K), while v only redistributes weight within the buffer, away from
/// updates far from the consensus (noisy or non-IID outliers). ρ is scale-free, so the weight does not depend on
/// the learning rate or the loss scale. <see cref="FtteWeighting.Age"/> sets v ≡ 1; <see cref="FtteWeighting.None"/>
/// also sets a ≡ 1 (a plain mean). Where nested or partial updates overlap, Δ̄ and the sums are per coordinate over
/// the updates that trained it (<see cref="DeltaAccumulator"/>).</para>
/// </summary>
public sealed class FtteStrategy : Strategy
{
    private readonly ISampleSource? _proxy;
    private readonly NoiseSource? _noise;
    private PrivateStep? _private;
    private SecureGroups? _secure;
    private readonly List<ClientUpdate> _buffer = [];
    private readonly DeviceSampler _sampler;
    private DeltaAccumulator _accumulator = null!;
    private double[] _meanSum = [];
    private int[] _meanCount = [];
    private bool[] _straggler = [];
    /// <summary>Nested levels, smallest (w*) first: the task spec and its planned peak.</summary>
    private List<(TaskSpec Spec, long PeakBytes)> _levels = [];
    private TaskSpec[] _specOf = [];
    private long _taskBytes;
    private double _stragglerThreshold = double.PositiveInfinity;
    private readonly HashSet<long> _fastTasks = [];
    private readonly HashSet<long> _slowTasks = [];
    /// <summary>The local training given to the constructor (after a restore, with the configured batch the state carries): every
    /// selection starts from its batch (the chosen one may be halved).</summary>
    private LocalTraining _configuredLocal;
    /// <summary>The analysis batch is the local one (the config's way): it follows <see cref="_configuredLocal"/>, which a restart
    /// restores from the state, rather than the batch given to the constructor (a restarted server's is the chosen, maybe halved, one).</summary>
    private readonly bool _analysisFollowsLocal;
    /// <summary>Kept across selections (its cache is per weights, so a re-selection measures afresh).</summary>
    private ContributionAnalysis? _analysis;
    private int _steps;
    private readonly List<ReselectionCheck> _checks = [];
    /// <summary>After a re-selection: the coordinates the new levels train (the largest level contains the others).</summary>
    private WeightRange[]? _trainedNow;
    /// <summary>A re-selection read by <see cref="RestoreState"/>, not yet re-established (<see cref="Resume"/>).</summary>
    private FtteReselectionState? _restoredReselection;
    /// <summary>Nested levels read by <see cref="RestoreState"/> before any switch (the stored config holds only w*), not yet re-established.</summary>
    private IReadOnlyList<string>? _restoredLevels;

    /// <param name="proxy">The server's small proxy set for contribution analysis; needed only by <see cref="SelectionMethod.Search"/> without a fixed trainable set (or with <see cref="FtteOptions.ReselectAfter"/>).</param>
    /// <param name="noise">DP noise (with <see cref="FtteOptions.Privacy"/>): cryptographic in deployment; null: seeded (simulation).</param>
    public FtteStrategy(FtteOptions options, LocalTraining local, ISampleSource? proxy = null, NoiseSource? noise = null)
    {
        _noise = noise;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(local);
        Options = Validate(options);
        Local = local;
        _configuredLocal = local;
        _analysisFollowsLocal = options.Contribution is null || options.Contribution.BatchSize == local.BatchSize;
        Staleness = options.Staleness ?? StalenessFunction.InverseSqrt;
        if (proxy is null && (options.Trainable is null || options.ReselectAfter is not null) && options.Selection == SelectionMethod.Search)
            throw new ArgumentException("FTTE's search needs a proxy set for contribution analysis (or give a fixed trainable set without reselectAfter, or a baseline selection).", nameof(proxy));
        _proxy = proxy;
        _sampler = new DeviceSampler(options.Seed);
    }

    public FtteOptions Options { get; }
    /// <summary>Local training; after <see cref="Start"/> its batch is the one the selection planned for.</summary>
    public LocalTraining Local { get; private set; }
    public StalenessFunction Staleness { get; }
    public MemoryBudget Budget => Options.Budget ?? MemoryBudget.Minimum;
    public override string Name => $"FTTE(M={Options.Concurrency},K={Options.BufferSize})";

    /// <summary>M_min in bytes, known after <see cref="Start"/>.</summary>
    public long BudgetBytes { get; private set; }
    /// <summary>What the selection chose (null with a fixed trainable set).</summary>
    public SelectionResult? Selection { get; private set; }
    /// <summary>The measured contributions (null with a fixed trainable set or without a proxy set).</summary>
    public ContributionReport? Contributions { get; private set; }
    /// <summary>The task every device gets.</summary>
    public TaskSpec Spec { get; private set; } = null!;
    /// <summary>The planner's verdict on <see cref="Spec"/>: its peak is what a device must hold.</summary>
    public MemoryPlan Plan { get; private set; } = null!;
    /// <summary>The weights of the last server step (for reports and tests).</summary>
    public BufferWeights? LastStep { get; private set; }
    /// <summary>Updates refused for a wrong size or non-finite values.</summary>
    public int Rejected { get; private set; }
    /// <summary>The re-selection, once it happened (see <see cref="FtteOptions.ReselectAfter"/>).</summary>
    public Reselection? Reselected { get; private set; }
    /// <summary>The re-selection checks of this process, the last of them the one that switched (if one did).</summary>
    public IReadOnlyList<ReselectionCheck> ReselectionChecks => _checks;

    private static FtteOptions Validate(FtteOptions o)
    {
        if (o.Concurrency < 1) throw new ArgumentOutOfRangeException(nameof(o), $"FTTE concurrency must be ≥ 1; got {o.Concurrency}.");
        if (o.BufferSize < 1) throw new ArgumentOutOfRangeException(nameof(o), $"FTTE bufferSize must be ≥ 1; got {o.BufferSize}.");
        if (!(o.StragglerFactor >= 0)) throw new ArgumentOutOfRangeException(nameof(o), $"FTTE stragglerFactor must be ≥ 0 (0 turns the straggler pool off); got {o.StragglerFactor}.");
        if (o.StragglerConcurrency is < 0) throw new ArgumentOutOfRangeException(nameof(o), $"FTTE stragglerConcurrency must be ≥ 0 or absent; got {o.StragglerConcurrency}.");
        if (o.MaxStaleness is < 0) throw new ArgumentOutOfRangeException(nameof(o), $"FTTE maxStaleness must be ≥ 0 or absent; got {o.MaxStaleness}.");
        if (o.Privacy is not null && o.Weighting == FtteWeighting.AgeAndVariance)
            throw new ArgumentException("FTTE with differential privacy needs weighting 'age' or 'none': the variance weight depends on the other updates in the buffer, so a step's sensitivity would no longer be C.", nameof(o));
        if (o.Privacy is not null && o.NestedBudgets is { Count: > 0 })
            throw new ArgumentException("FTTE with differential privacy does not support nested budgets yet (each coordinate would need its own fixed denominator).", nameof(o));
        if (o.SecureAggregation is not null && o.Weighting == FtteWeighting.AgeAndVariance)
            throw new ArgumentException("FTTE with secure aggregation needs weighting 'age' or 'none': the server only sees a group's sum, so it cannot measure each update's variance (see SemiAsyncSecAgg).", nameof(o));
        if (o.SecureAggregation is not null && o.NestedBudgets is { Count: > 0 })
            throw new ArgumentException("FTTE with secure aggregation does not support nested budgets yet (a group's members must mask vectors of one length).", nameof(o));
        if (!(o.ServerLearningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(o), $"FTTE serverLearningRate must be ≥ 0; got {o.ServerLearningRate}.");
        if (o.ReselectAfter is { } after)
        {
            if (after < 1) throw new ArgumentOutOfRangeException(nameof(o), $"FTTE reselectAfter must be ≥ 1 server step or absent; got {after}.");
            if (!(o.ReselectMargin >= 1) || double.IsInfinity(o.ReselectMargin))
                throw new ArgumentOutOfRangeException(nameof(o), $"FTTE reselectMargin must be a finite multiple ≥ 1 (1 switches to any better set); got {o.ReselectMargin}.");
            if (o.Selection != SelectionMethod.Search)
                throw new ArgumentException("FTTE reselectAfter re-runs the search: it needs selection 'search'.", nameof(o));
            // Both fix the coordinates of a step at start (the DP step's ranges, the groups' vector layout).
            if (o.Privacy is not null || o.SecureAggregation is not null)
                throw new ArgumentException("FTTE reselectAfter cannot be combined with privacy or secure aggregation yet (they fix the trained coordinates at start).", nameof(o));
        }
        return o;
    }

    public override void Start(IFederationHost host)
    {
        var model = host.Global.Model;
        BudgetBytes = Budget.Resolve(host.Devices);
        Choose(host, Options.Trainable);
        var set = Spec.Trainable;
        if (Options.Privacy is { } dp)
        {
            PrivateStep.RequireEnoughDevices(Name, Options.BufferSize, Participation.EligibleDevices);
            _private = new PrivateStep(model.ParameterCount, SecureGroups.StepOptions(dp, Options.SecureAggregation, Options.BufferSize),
                _noise ?? NoiseSource.Seeded(Rng.Mix(Options.Seed, 0xD1FF)), set.Ranges(model), Participation);
        }
        if (Options.SecureAggregation is { } secureOptions)
        {
            _secure = new SecureGroups(secureOptions, Options.BufferSize, set.Ranges(model),
                Options.Weighting == FtteWeighting.None ? null : Staleness, _private, Rng.Mix(Options.Seed, 0x5A5A), Release, host.SecureTransport)
            {
                ServerLearningRate = Options.ServerLearningRate,
            };
        }
        _accumulator = new DeltaAccumulator(model.ParameterCount);
        _meanSum = new double[model.ParameterCount];
        _meanCount = new int[model.ParameterCount];
        FillTo(host);
    }

    /// <summary>How contributions are measured: the given options, at the configured local batch where they follow it.</summary>
    internal ContributionOptions AnalysisOptions
    {
        get
        {
            var options = Options.Contribution
                ?? new ContributionOptions(BatchSize: _configuredLocal.BatchSize, Optimizer: _configuredLocal.Optimizer, Seed: Options.Seed);
            return _analysisFollowsLocal ? options with { BatchSize = _configuredLocal.BatchSize } : options;
        }
    }

    /// <summary>What a selection chose: the levels (w* first, planned at <paramref name="Local"/>), w*'s plan, and what the search measured.</summary>
    private sealed record Choice(List<(TaskSpec Spec, long PeakBytes)> Levels, MemoryPlan Plan, LocalTraining Local,
        SelectionResult? Selection, ContributionReport? Contributions);

    /// <summary>The selection from the current global weights, then what follows from the chosen sets (<see cref="Use"/>).</summary>
    private void Choose(IFederationHost host, string? fixedSet) => Apply(host, Select(host, fixedSet));

    private void Apply(IFederationHost host, Choice choice)
    {
        Local = choice.Local;
        Selection = choice.Selection;
        Contributions = choice.Contributions;
        Use(host, choice.Levels, choice.Plan);
    }

    /// <summary>
    /// Contributions measured from the current global weights, the search under M_min and the nested levels (or
    /// <paramref name="fixedSet"/>, without either). Changes nothing: a re-selection check may keep the current sets.
    /// </summary>
    private Choice Select(IFederationHost host, string? fixedSet)
    {
        var model = host.Global.Model;
        var local = _configuredLocal;
        SelectionResult? selection = null;
        ContributionReport? contributions = null;
        TrainableSet set;
        if (fixedSet is not null)
        {
            set = TrainableSet.Parse(model, fixedSet);
        }
        else
        {
            var contributionOptions = AnalysisOptions;
            if (_proxy is not null) _analysis ??= new ContributionAnalysis(_proxy, contributionOptions);
            contributions = _analysis?.Analyze(model) ?? ContributionReport.Unmeasured(model, contributionOptions.EffectiveRatios);
            var search = new ParameterSearch(model, contributions, BudgetBytes, local.BatchSize, local.Optimizer,
                Options.Search ?? new SearchOptions(Seed: Options.Seed));
            selection = search.Run(Options.Selection);
            set = selection.Trainable;
            if (selection.Batch != local.BatchSize) local = local with { BatchSize = selection.Batch };
        }
        var plan = selection?.Plan ?? MemoryPlanner.PlanTraining(model, set, local.BatchSize, local.Optimizer);
        var levels = new List<(TaskSpec Spec, long PeakBytes)> { (LevelSpec(set, 0, local), plan.PeakBytes) };
        if (Options.NestedBudgets is { Count: > 0 } nested && contributions is not null)
        {
            // Each larger budget gets the best set that contains the previous level's (planned at w*'s batch, so
            // every level trains the same way and only the subset grows).
            var previous = set;
            foreach (long bytes in nested.Select(b => b.Resolve(host.Devices)).Where(b => b > BudgetBytes).Distinct().Order())
            {
                var search = new ParameterSearch(model, contributions, bytes, local.BatchSize, local.Optimizer, Options.Search ?? new SearchOptions(Seed: Options.Seed));
                if (search.Batch != local.BatchSize) continue;
                var level = search.Search(previous);
                if (level.Trainable.ToString() == previous.ToString()) continue;
                levels.Add((LevelSpec(level.Trainable, levels.Count, local), level.Plan.PeakBytes));
                previous = level.Trainable;
            }
        }
        return new Choice(levels, plan, local, selection, contributions);
    }

    /// <summary>The task of nested level <paramref name="level"/> (0: w*, the one secure aggregation masks) at <paramref name="local"/>.</summary>
    private TaskSpec LevelSpec(TrainableSet set, int level, LocalTraining local) =>
        new(set, local, Broadcast.TrainableOnly, level == 0 && Options.SecureAggregation is { } secure ? new MaskedUpload(secure.RingBits / 8) : null);

    /// <summary>What follows from the chosen levels (w* first, planned at <see cref="Local"/>): plan, participation, bytes per task, straggler pool, each device's level.</summary>
    private void Use(IFederationHost host, List<(TaskSpec Spec, long PeakBytes)> levels, MemoryPlan plan)
    {
        var model = host.Global.Model;
        _levels = levels;
        Spec = levels[0].Spec;
        Plan = plan;
        var set = Spec.Trainable;
        Participation = Participation.ByMemory(host.Devices, Plan.PeakBytes, Options.IgnoreMemory);
        if (!Options.IgnoreMemory && Participation.ExcludedDevices == host.Devices.Count)
            throw new InvalidOperationException(
                $"{Name}: no device can hold the training plan ({ByteSize.Format(Plan.PeakBytes)} peak for '{set}', batch {Local.BatchSize}); budget {ByteSize.Format(BudgetBytes)}.");
        _taskBytes = ParameterSerializer.SerializedSize(model, set);
        _straggler = ClassifyStragglers(host);
        _specOf = [.. host.Devices.Select(d => _levels.Last(l => l.PeakBytes <= d.MemoryBytes || l.Spec == Spec).Spec)];
    }

    /// <summary>
    /// A re-selection check (<see cref="FtteOptions.IsReselectionCheck"/>, until one switches): the same analysis and search, from the
    /// weights trained so far; the sets change when the best beats the current w* by <see cref="FtteOptions.ReselectMargin"/>, both measured here.
    /// Tasks in flight finish with their old set; <see cref="ClipToNewSets"/> says how their updates merge.
    /// </summary>
    private void CheckSelection(IFederationHost host)
    {
        var before = Levels;
        var choice = Select(host, fixedSet: null);
        double current = choice.Contributions?.Of(host.Global.Model, before[0].Trainable) ?? double.NaN;
        double best = choice.Selection?.Contribution ?? double.NaN;
        // A current set measured at 0 gives the margin nothing to scale: any positive best switches. With the first-order
        // measure that means a gradient of exactly zero on every trained value; with "loss"/"accuracy" (clamped at 0) it can
        // be noise — those measures misjudge trained weights anyway (README, "How a unit's contribution is measured").
        bool switched = choice.Levels[0].Spec.TrainableKey != before[0].TrainableKey
            && best > 0 && !(current * Options.ReselectMargin > best);
        _checks.Add(new ReselectionCheck(_steps, host.Now, current, best, switched));
        if (!switched) return;
        Apply(host, choice);
        _trainedNow = [.. _levels[^1].Spec.Trainable.Ranges(host.Global.Model)];
        Reselected = new Reselection(_steps, host.Now, before) { BeforeContribution = current, NowContribution = best };
    }

    /// <summary>
    /// An update of a set trained before the re-selection, cut to the coordinates the new sets train; null when none are left.
    /// The coordinates the new sets freeze stay as they are, so the frozen part that devices cache (and pay for once) stays the
    /// one they downloaded: merging a late Δ there would change it under every device.
    /// </summary>
    private ClientUpdate? ClipToNewSets(ClientUpdate update)
    {
        if (_trainedNow is null || _levels.Any(l => l.Spec.TrainableKey == update.Task.Spec.TrainableKey)) return update;
        var kept = new List<WeightRange>();
        foreach (var r in update.Ranges)
            foreach (var n in _trainedNow)
            {
                int start = Math.Max(r.Offset, n.Offset), end = Math.Min(r.End, n.End);
                if (end > start) kept.Add(new WeightRange(start, end - start));
            }
        if (kept.Count == 0)
        {
            Reselected!.LateDropped++;
            return null;
        }
        Reselected!.LateMerged++;
        return new ClientUpdate
        {
            Task = update.Task, Delta = update.Delta, BaseWeights = update.BaseWeights, Ranges = [.. kept], Samples = update.Samples,
            TrainLoss = update.TrainLoss, TrainAccuracy = update.TrainAccuracy, ReceivedAt = update.ReceivedAt, Staleness = update.Staleness,
        };
    }

    /// <summary>The trainable set each nested level trains, smallest (w*) first; one entry without nesting.</summary>
    public IReadOnlyList<TaskSpec> Levels => [.. _levels.Select(l => l.Spec)];

    /// <summary>The task a device gets: the largest nested level whose plan fits its memory.</summary>
    public TaskSpec SpecFor(int deviceId) => _specOf[deviceId];

    /// <summary>Devices in the straggler pool, known after <see cref="Start"/>.</summary>
    public int Stragglers => _straggler.Count(s => s);

    /// <summary>Estimated task time from declared capabilities; a straggler is above factor × the K-th fastest eligible device's.</summary>
    private bool[] ClassifyStragglers(IFederationHost host)
    {
        var result = new bool[host.Devices.Count];
        _stragglerThreshold = double.PositiveInfinity;
        if (Options.StragglerFactor == 0) return result;
        var seconds = new double[result.Length];
        var eligible = new List<double>();
        foreach (var d in host.Devices)
        {
            seconds[d.Id] = EstimatedTaskSeconds(d);
            if (Participation.IsEligible(d.Id)) eligible.Add(seconds[d.Id]);
        }
        if (eligible.Count == 0) return result;
        eligible.Sort();
        // The pace of a server step is set by the K-th fastest eligible device (a step needs K updates), not by the
        // median: with 90% stragglers the median is a straggler, and with few fast devices any fixed count larger
        // than theirs (2M, say) would land on a straggler too and put everyone in one pool.
        _stragglerThreshold = Options.StragglerFactor * eligible[Math.Min(Options.BufferSize, eligible.Count) - 1];
        for (int i = 0; i < result.Length; i++) result[i] = seconds[i] > _stragglerThreshold;
        return result;
    }

    private double EstimatedTaskSeconds(DeviceInfo d)
    {
        double flops = (double)Plan.TrainingFlopsPerSample * d.TrainSamples * Local.Epochs;
        return d.LatencySeconds + _taskBytes * 8.0 / d.DownlinkBitsPerSecond + flops / d.FlopsPerSecond + _taskBytes * 8.0 / d.UplinkBitsPerSecond;
    }

    /// <summary>A late joiner gets the same treatment as a device known at start: memory rule, nested level, pool.</summary>
    public override void OnDeviceJoined(IFederationHost host, DeviceInfo device)
    {
        Resume(host);
        Participation.Admit(device);
        _specOf = [.. _specOf, _levels.Last(l => l.PeakBytes <= device.MemoryBytes || l.Spec == Spec).Spec];
        _straggler = [.. _straggler, EstimatedTaskSeconds(device) > _stragglerThreshold];
        FillTo(host);
    }

    public override void OnDevicesAvailable(IFederationHost host) => FillTo(host);

    public override void OnTaskFailed(IFederationHost host, TaskFailure failure)
    {
        Release(failure.Task.TaskId);
        _secure?.Failed(host, failure.Task.TaskId);
        FillTo(host);
    }

    public override void OnTimer(IFederationHost host, int tag)
    {
        if (_secure?.OnTimer(host, tag) == true)
        {
            StopReason ??= _secure.Exhausted;
            FillTo(host);
        }
    }

    private void Release(long taskId)
    {
        if (!_fastTasks.Remove(taskId)) _slowTasks.Remove(taskId);
    }

    public override PrivacySpent? PrivacySpent => _private?.Spent;
    public override SecureGroups? SecureAggregation => _secure;
    public override PrivacySpent? PrivacyPerDevice => _private?.UnsampledBound();

    /// <summary>
    /// The step count, what the re-selection needs to search as an uninterrupted run would (M_min and the configured batch:
    /// a restarted server's config holds the first choice and its batch) and, once re-selected, the new sets; the DP state
    /// beside them (see <see cref="FtteState"/>). Null without re-selection and without privacy: nothing to resume.
    /// </summary>
    public override string? SaveState()
    {
        if (Options.ReselectAfter is null && _private is null && _levels.Count < 2) return null;
        using var privacy = _private is null ? null : JsonDocument.Parse(_private.SaveState());
        var reselection = _restoredReselection ?? (Reselected is { } r
            ? new FtteReselectionState(r.AfterSteps, r.At, [.. r.Before.Select(l => l.TrainableKey)], [.. _levels.Select(l => l.Spec.TrainableKey)],
                Local.BatchSize, r.LateMerged, r.LateDropped)
            : null);
        IReadOnlyList<string> levels = _restoredLevels ?? [.. _levels.Select(l => l.Spec.TrainableKey)];
        return new FtteState(_steps, BudgetBytes, _configuredLocal.BatchSize, reselection, privacy?.RootElement) { Levels = levels }.ToJson();
    }

    /// <summary>
    /// Continues from <see cref="SaveState"/> (or from a state of the earlier format, the DP state alone). The count and the
    /// search's inputs apply at once, so a restart makes the next re-selection check at the same step from the same budget.
    /// The last re-selection already made is not searched again (the weights now are a later version's): its sets are re-established.
    /// </summary>
    public override void RestoreState(string state)
    {
        var saved = FtteState.Parse(state);
        if (saved.Reselection is { Levels.Count: 0 })
            throw new FormatException("The stored FTTE state has a re-selection without trainable sets.");
        if (saved.Privacy is { } dp) _private?.RestoreState(dp.GetRawText());
        StopReason ??= _private?.Exhausted;
        _steps = saved.Steps;
        if (saved.BudgetBytes is { } budget) BudgetBytes = budget;
        if (saved.ConfiguredBatch is { } batch) _configuredLocal = _configuredLocal with { BatchSize = batch };
        // Re-establishing the sets needs the model and the devices (plans, participation, pools, each device's level), and
        // RestoreState has no host: the contract keeps strategies acting only through the host of the event at hand. So they
        // apply at the next call that has one, before it merges or dispatches anything (Resume); tasks Start already
        // dispatched with the first set finish as late updates of an old set, exactly as in-flight tasks at a re-selection.
        _restoredReselection = saved.Reselection;
        // Before a switch the stored config holds w* alone; the nested levels above it come back from the state.
        _restoredLevels = saved.Reselection is null && saved.Levels is { Count: > 1 } levels ? levels : null;
    }

    /// <summary>Re-establishes a re-selection, or nested levels, read by <see cref="RestoreState"/>; called first by every handler that merges or dispatches.</summary>
    private void Resume(IFederationHost host)
    {
        if (_restoredLevels is { } nested)
        {
            _restoredLevels = null;
            // Only if the state's w* is the one the stored config made this process start with (it is, unless the config was edited).
            if (nested[0] == Spec.TrainableKey)
            {
                var levels = Rebuild(host.Global.Model, nested, Local, out var plan);
                Use(host, levels, plan);
            }
        }
        if (_restoredReselection is not { } saved) return;
        _restoredReselection = null;
        var model = host.Global.Model;
        var before = saved.Before.Select(key => new TaskSpec(TrainableSet.Parse(model, key), Local, Broadcast.TrainableOnly)).ToList();
        Local = _configuredLocal with { BatchSize = saved.Batch };
        var rebuilt = Rebuild(model, saved.Levels, Local, out var firstPlan);
        // What the search measured and chose belongs to other weights: the notes say the sets were restored.
        Selection = null;
        Contributions = null;
        Use(host, rebuilt, firstPlan);
        _trainedNow = [.. _levels[^1].Spec.Trainable.Ranges(model)];
        Reselected = new Reselection(saved.AfterSteps, saved.At, before) { LateMerged = saved.LateMerged, LateDropped = saved.LateDropped };
    }

    /// <summary>Levels from their stored keys (w* first), planned at <paramref name="local"/>; <paramref name="plan"/> is w*'s.</summary>
    private List<(TaskSpec Spec, long PeakBytes)> Rebuild(Model model, IReadOnlyList<string> keys, LocalTraining local, out MemoryPlan plan)
    {
        var levels = new List<(TaskSpec Spec, long PeakBytes)>();
        MemoryPlan? first = null;
        foreach (string key in keys)
        {
            var set = TrainableSet.Parse(model, key);
            var levelPlan = MemoryPlanner.PlanTraining(model, set, local.BatchSize, local.Optimizer);
            first ??= levelPlan;
            levels.Add((LevelSpec(set, levels.Count, local), levelPlan.PeakBytes));
        }
        plan = first!;
        return levels;
    }

    public override UpdateVerdict OnUpdate(IFederationHost host, ClientUpdate update)
    {
        Resume(host);
        Release(update.Task.TaskId);
        if (StopReason is not null) return UpdateVerdict.DroppedLate;
        UpdateVerdict verdict;
        if (Options.MaxStaleness is { } cap && update.Staleness > cap)
        {
            _secure?.Failed(host, update.Task.TaskId);
            verdict = UpdateVerdict.DroppedStale;
        }
        else if (_secure is not null)
        {
            verdict = _secure.Offer(host, update);
            if (verdict == UpdateVerdict.Rejected) Rejected++;
            StopReason ??= _secure.Exhausted;
        }
        else if (_private is not null && !_private.Admits(update.DeviceId))
            verdict = UpdateVerdict.DroppedLate; // past its participation cap
        else if (_private is not null && IsValid(host, update))
        {
            // DP step (DP-FedAvg with FTTE's age weight ≤ 1): x ← x + η_g·(Σ a_i·clip(Δ_i) + N(0, z²C²))/K.
            if (_private.Add(update, Options.Weighting == FtteWeighting.None ? 1.0 : Staleness.Weight(update.Staleness))
                && _private.TryRelease(host.Global.Weights, Options.ServerLearningRate))
                host.Commit(Options.BufferSize);
            StopReason = _private.Exhausted;
            verdict = UpdateVerdict.Accepted;
        }
        else if (!IsValid(host, update))
        {
            Rejected++;
            verdict = UpdateVerdict.Rejected;
        }
        else if (ClipToNewSets(update) is not { } merged)
            verdict = UpdateVerdict.DroppedLate;
        else
        {
            _buffer.Add(merged);
            if (_buffer.Count == Options.BufferSize) Step(host);
            verdict = UpdateVerdict.Accepted;
        }
        FillTo(host);
        return verdict;
    }

    /// <summary>
    /// The factors of the formula on the class for one buffer: a_i = s(τ_i), and v_i = 1/(1+ρ_i) with
    /// ρ_i = ‖Δ_i − Δ̄‖² / mean_j ‖Δ_j − Δ̄‖² over the coordinates each update trained.
    /// </summary>
    public static BufferWeights ComputeWeights(IReadOnlyList<ClientUpdate> buffer, FtteWeighting weighting, StalenessFunction staleness)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Count == 0) return new BufferWeights([], [], []);
        int n = buffer[0].Delta.Length;
        return ComputeWeights(buffer, weighting, staleness, new double[n], new int[n]);
    }

    private static BufferWeights ComputeWeights(IReadOnlyList<ClientUpdate> buffer, FtteWeighting weighting, StalenessFunction staleness,
        double[] meanSum, int[] meanCount)
    {
        int k = buffer.Count;
        var age = new double[k];
        var variance = new double[k];
        var dispersion = new double[k];
        for (int i = 0; i < k; i++) age[i] = weighting == FtteWeighting.None ? 1.0 : staleness.Weight(buffer[i].Staleness);
        if (weighting != FtteWeighting.AgeAndVariance)
        {
            Array.Fill(variance, 1.0);
            return new BufferWeights(age, variance, dispersion);
        }

        // Δ̄ per coordinate over the updates that trained it.
        foreach (var u in buffer)
            foreach (var r in u.Ranges)
                for (int j = r.Offset; j < r.End; j++) { meanSum[j] += u.Delta[j]; meanCount[j]++; }
        for (int i = 0; i < k; i++)
        {
            double d = 0;
            long n = 0;
            var delta = buffer[i].Delta;
            foreach (var r in buffer[i].Ranges)
            {
                n += r.Length;
                for (int j = r.Offset; j < r.End; j++)
                {
                    double e = delta[j] - meanSum[j] / meanCount[j];
                    d += e * e;
                }
            }
            // Per coordinate, so that a device training a larger nested set is not penalised for its size
            // (with equal sets this is the same ratio as the plain sum).
            dispersion[i] = n == 0 ? 0 : d / n;
        }
        foreach (var u in buffer)
            foreach (var r in u.Ranges)
            {
                Array.Clear(meanSum, r.Offset, r.Length);
                Array.Clear(meanCount, r.Offset, r.Length);
            }
        double meanDispersion = dispersion.Average();
        for (int i = 0; i < k; i++)
        {
            // All updates identical (or K = 1): ρ_i = 1 for everyone, so equal weights.
            double rho = meanDispersion > 0 ? dispersion[i] / meanDispersion : 1.0;
            variance[i] = 1.0 / (1.0 + rho);
        }
        return new BufferWeights(age, variance, dispersion);
    }

    /// <summary>x ← x + η_g · Σ a_i v_i Δ_i / Σ v_i (per coordinate over the updates that trained it), then the version moves on.</summary>
    private void Step(IFederationHost host)
    {
        var w = ComputeWeights(_buffer, Options.Weighting, Staleness, _meanSum, _meanCount);
        for (int i = 0; i < _buffer.Count; i++)
            _accumulator.Add(_buffer[i], w.Age[i] * w.Variance[i], w.Variance[i]);
        _accumulator.ApplyTo(host.Global.Weights, Options.ServerLearningRate);
        _accumulator.Clear();
        LastStep = w;
        int merged = _buffer.Count;
        _buffer.Clear();
        host.Commit(merged);
        // After the step, so the analysis sees the weights of N steps (the buffer is empty: nothing of the old sets is pending).
        // The count is in the saved state: a restart neither re-selects again nor starts counting from zero.
        if (Options.IsReselectionCheck(++_steps) && Reselected is null) CheckSelection(host);
    }

    private static bool IsValid(IFederationHost host, ClientUpdate update)
    {
        if (update.Delta.Length != host.Global.Model.ParameterCount) return false;
        foreach (var r in update.Ranges)
            foreach (float v in update.Delta.AsSpan(r.Offset, r.Length))
                if (!float.IsFinite(v)) return false;
        return true;
    }

    /// <summary>Tops up the fast pool to M and the straggler pool to its own concurrency.</summary>
    /// <remarks>With secure aggregation each pool forms its own groups (lane 0 fast, 1 stragglers), a device at most once per group.</remarks>
    private void FillTo(IFederationHost host)
    {
        Resume(host);
        if (StopReason is not null) return;
        foreach (var t in _sampler.Fill(host, d => Participation.IsEligible(d) && !_straggler[d] && (_secure?.CanJoin(d, 0) ?? true), d => _specOf[d], Options.Concurrency, _fastTasks.Count))
        {
            _fastTasks.Add(t.TaskId);
            _secure?.Assign(host, t, 0);
        }
        if (Options.StragglerFactor == 0) return;
        foreach (var t in _sampler.Fill(host, d => Participation.IsEligible(d) && _straggler[d] && (_secure?.CanJoin(d, 1) ?? true), d => _specOf[d], Options.StragglerConcurrency ?? Options.Concurrency, _slowTasks.Count))
        {
            _slowTasks.Add(t.TaskId);
            _secure?.Assign(host, t, 1);
        }
    }

    public override IReadOnlyList<string> Notes =>
        Spec is null ? [] :
        [
            $"Budget {Budget} = {ByteSize.Format(BudgetBytes)}; trainable set '{Spec.TrainableKey}' at batch {Local.BatchSize}" +
            (Selection is { } sel ? $" ({sel.Method}, contribution {sel.Contribution.ToString("G4", CultureInfo.InvariantCulture)})"
                : Reselected is not null ? " (re-selected before a restart)" : " (fixed)") +
            $", planned peak {ByteSize.Format(Plan.PeakBytes)} ({string.Join(", ", Plan.Categories.Where(c => c.Bytes > 0).Select(c => $"{c.Category} {ByteSize.Format(c.Bytes)}"))}); " +
            $"{_taskBytes:N0} bytes per task each way.",
            .. _levels.Skip(1).Select((l, i) => $"Nested level {i + 1}: '{l.Spec.TrainableKey}' (contains the level below), planned peak {ByteSize.Format(l.PeakBytes)}, " +
                $"{_specOf.Count(x => x == l.Spec)} device(s)."),
            .. ReselectionNote(),
            Options.StragglerFactor > 0
                ? $"Straggler pool: {Stragglers} device(s) slower than {Options.StragglerFactor}× the K-th fastest, {Options.StragglerConcurrency ?? Options.Concurrency} in flight."
                : "One pool of M for all devices (paper behaviour).",
            .. PrivacyNote(_private),
            .. (_secure is null ? [] : new[] { _secure.Describe() }),
        ];

    private IEnumerable<string> ReselectionNote()
    {
        if (Options.ReselectAfter is not { } after) yield break;
        var inv = CultureInfo.InvariantCulture;
        if (_checks.Count > 0)
        {
            string checks = string.Join("; ", _checks.Select(c =>
                string.Create(inv, $"{c.AfterSteps}: {c.Current:0.####} vs best {c.Best:0.####}{(c.Switched ? " → switched" : "")}")));
            yield return string.Create(inv,
                $"Re-selection checks after {after}, {2L * after}, {4L * after} … server steps (switch at ≥ {Options.ReselectMargin:0.##}× the current set's contribution): {checks}.");
        }
        else if (Reselected is null)
        {
            long next = after;
            while (next <= _steps) next *= 2;
            yield return _steps < after
                ? $"Re-selection check after {after} server step(s): not reached (the run made {_steps})."
                : $"Re-selection: the checks up to step {next / 2} (before a restart) kept the set; the next is after {next} steps (the run made {_steps}).";
            yield break;
        }
        if (Reselected is not { } r) yield break;
        string from = string.Join(" ⊂ ", r.Before.Select(s => $"'{s.TrainableKey}'"));
        string to = string.Join(" ⊂ ", Levels.Select(s => $"'{s.TrainableKey}'"));
        yield return string.Create(inv,
            $"Re-selected after {r.AfterSteps} server step(s) at t = {r.At:0.#} s from the trained weights: {from} → {to} " +
            $"(contribution there {r.BeforeContribution:0.#####} → {r.NowContribution:0.#####}); " +
            $"{r.LateMerged} late update(s) of the old set merged on the new set's coordinates, {r.LateDropped} dropped (none of them).");
    }

    /// <summary>The worst-case per-device figure beside the sampled ε (see <see cref="PrivateStep.UnsampledBound"/>), and the cap's promise.</summary>
    internal static IEnumerable<string> PrivacyNote(PrivateStep? dp)
    {
        if (dp is null) yield break;
        var inv = CultureInfo.InvariantCulture;
        if (dp.Cap is { } cap)
        {
            var promise = PrivateStep.UnsampledEpsilon(dp.Aggregator.Options, cap);
            yield return string.Create(inv, $"DP participation cap: every device joins at most {cap} released steps, so every device has ε ≤ {promise.Epsilon:0.###} at δ = {PrivacyFormat.Delta(promise.Delta)} without the sampling assumption.");
        }
        if (dp.UnsampledBound() is { } bound)
            yield return string.Create(inv, $"DP worst case without the sampling assumption: the most active device took part in {dp.MostStepsByOneDevice:N0} step(s): ε ≤ {bound.Epsilon:0.###} at δ = {PrivacyFormat.Delta(bound.Delta)} for it.");
        if (dp.Last is { } last)
            yield return string.Create(inv, $"DP clip norm at the end: C = {dp.Aggregator.ClipNorm:G4}; noise on each coordinate of a step's sum: {last.SumNoiseStddev:G4}.");
    }

    /// <summary>Budget, choice, bytes and participation, for the run log.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{Name}: budget {Budget} = {ByteSize.Format(BudgetBytes)}, weighting {Options.Weighting}, s(τ) {Staleness}, η_g {Options.ServerLearningRate}\n");
        if (Reselected is { } r)
            sb.Append(CultureInfo.InvariantCulture, $"Re-selected after {r.AfterSteps} server steps (t = {r.At:0.#} s); trained until then: {string.Join(", ", r.Before.Select(s => s.TrainableKey))}\n");
        if (Selection is not null) sb.Append(Selection.ToText());
        else sb.Append(CultureInfo.InvariantCulture, $"Fixed trainable set {Spec?.Trainable}, plan peak {ByteSize.Format(Plan?.PeakBytes ?? 0)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"Participation: {Participation}\n");
        if (Options.StragglerFactor > 0)
            sb.Append(CultureInfo.InvariantCulture, $"Straggler pool: {Stragglers} device(s) estimated slower than {Options.StragglerFactor}× the K-th fastest device's task time, {Options.StragglerConcurrency ?? Options.Concurrency} in flight\n");
        return sb.ToString();
    }
}
