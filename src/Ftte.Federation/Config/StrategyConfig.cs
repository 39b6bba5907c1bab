using Ftte.Core;
using Ftte.Core.Config;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Selection;
using Ftte.Federation.Strategies;

namespace Ftte.Federation.Config;

// Member names are what users type (kebab-case of the name): "fedavg", not "fed-avg".
public enum StrategyKind { Fedavg, Fedasync, Fedbuff, Ftte }

/// <summary>
/// One strategy of an experiment. Keys are flat; each kind accepts only its own (a FedAvg with a
/// bufferSize is a mistake and is reported as one). Absent keys take the strategy's defaults.
/// </summary>
public sealed record StrategyConfig : IValidatableConfig
{
    [ConfigDoc("fedavg (synchronous rounds), fedasync (mix every arrival), fedbuff (buffered asynchronous), ftte (partial broadcast under a memory budget, buffered, age- and variance-weighted).")]
    public StrategyKind Kind { get; init; } = StrategyKind.Fedbuff;
    [ConfigDoc("Label in reports; default: the strategy's own name with its key settings.")]
    public string? Name { get; init; }
    [ConfigDoc("Trainable set trained on devices: all, bias, last:K, or per-tensor rules (see ftte plan-memory). Absent: all; for ftte, chosen by its selection (a value fixes it, for ablations; with reselectAfter, until the re-selection).")]
    public string? Trainable { get; init; }

    [ConfigDoc("fedavg: C, updates per round.")]
    [ConfigRange(1)]
    public int? DevicesPerRound { get; init; }
    [ConfigDoc("fedavg: dispatch ⌈C·overSelection⌉ and close at the first C.")]
    [ConfigRange(1, 10)]
    public double? OverSelection { get; init; }
    [ConfigDoc("fedavg: round deadline (virtual time); absent waits for all.")]
    [DurationValue, ConfigRange(0.001)]
    public double? Deadline { get; init; }
    [ConfigDoc("fedavg, fedbuff, ftte: server learning rate η.")]
    [ConfigRange(0, 100)]
    public double? ServerLearningRate { get; init; }

    [ConfigDoc("fedasync, fedbuff, ftte: devices training at once (M).")]
    [ConfigRange(1)]
    public int? Concurrency { get; init; }
    [ConfigDoc("fedbuff, ftte: updates per server step (K).")]
    [ConfigRange(1)]
    public int? BufferSize { get; init; }
    [ConfigDoc("fedasync: base mixing weight α.")]
    [ConfigRange(0.0001, 1)]
    public double? Alpha { get; init; }
    [ConfigDoc("fedasync, fedbuff, ftte: staleness function s(τ).")]
    public StalenessKind? Staleness { get; init; }
    [ConfigDoc("fedasync, fedbuff, ftte: a of polynomial (1+τ)^−a or hinge.")]
    [ConfigRange(0)]
    public double? StalenessA { get; init; }
    [ConfigDoc("fedasync, fedbuff, ftte: b of hinge (versions of full weight).")]
    [ConfigRange(0)]
    public double? StalenessB { get; init; }
    [ConfigDoc("fedasync, fedbuff, ftte: drop updates older than this many versions.")]
    [ConfigRange(0)]
    public int? MaxStaleness { get; init; }

    [ConfigDoc("ftte: memory budget M_min: min (weakest device), a quantile like q0.1, or bytes like 512KiB.")]
    public string? Budget { get; init; }
    [ConfigDoc("ftte: aggregation weight: none, age (s(τ)), age-and-variance (s(τ) and 1/(1+ρ)).")]
    [AllowedValues("none", "age", "age-and-variance")]
    public string? Weighting { get; init; }
    [ConfigDoc("ftte: how the trainable set is chosen: search (contribution + planner), or the baselines last-k, bias, random.")]
    [AllowedValues("search", "last-k", "bias", "random")]
    public string? Selection { get; init; }
    [ConfigDoc("ftte: samples of the training split the server keeps as its proxy set for contribution analysis.")]
    [ConfigRange(4)]
    public int? ProxySamples { get; init; }
    [ConfigDoc("ftte: devices estimated slower than this × the task time of the K-th fastest (K = bufferSize) train in their own pool (0: one pool).")]
    [ConfigRange(0)]
    public double? StragglerFactor { get; init; }
    [ConfigDoc("ftte: larger budgets for nested subsets, e.g. [\"q0.5\", \"q0.9\"]: stronger devices train a larger set containing w*.")]
    public IReadOnlyList<string>? NestedBudgets { get; init; }
    [ConfigDoc("ftte: how contribution analysis measures a unit: \"gradient\" (default; first order: steps·η·Σ of the squared mean proxy gradient " +
               "over the unit), \"loss\" (train it alone on the proxy set, held-out loss reduction) or \"accuracy\" (the same, accuracy gain).")]
    [AllowedValues("loss", "accuracy", "gradient")]
    public string? ContributionMetric { get; init; }

    /// <summary>What an absent <see cref="ContributionMetric"/> means: the first-order measure (ContributionOptions' default).</summary>
    public const string DefaultContributionMetric = "gradient";
    [ConfigDoc("ftte: give up this share of the best measured contribution for the cheapest set that keeps the rest (0: fill the budget).")]
    [ConfigRange(0, 1)]
    public double? ContributionSlack { get; init; }
    [ConfigDoc("ftte: re-selection checks after this many server steps and then at twice, four times … as many, until one switches: measure contributions " +
               "again from the trained weights and re-run the search; switch once (later tasks train the new set) when it beats the current set by reselectMargin. " +
               "Default 10 when the set is searched and neither privacy nor secureAggregation is on (then none); 0 keeps the first choice.")]
    [ConfigRange(0)]
    public int? ReselectAfter { get; init; }
    [ConfigDoc("ftte: a re-selection check switches sets only when the best set's measured contribution is at least this multiple of the current set's (default 1.2).")]
    [ConfigRange(1, 1e6)]
    public double? ReselectMargin { get; init; }

    /// <summary>
    /// reselectAfter's default: the first check after 10 steps (100 updates at K = 10), when the layers have begun to move
    /// off their random initialisation (where contribution analysis misjudges what trains best). The checks double in
    /// spacing, so a run of S steps makes at most about log2(S/10) of them, and a check that keeps the set costs the devices nothing.
    /// </summary>
    public const int DefaultReselectAfter = 10;

    /// <summary>The re-selection this entry gets: the key's value (0: none), or the default where re-selection applies.</summary>
    public int? EffectiveReselectAfter => ReselectAfter switch
    {
        0 => null,
        { } steps => steps,
        null => Kind == StrategyKind.Ftte && Trainable is null && Selection is null or "search" && Privacy is null && SecureAggregation is null
            ? DefaultReselectAfter : null,
    };
    [ConfigDoc("ftte: tasks the straggler pool keeps in flight (default: concurrency).")]
    [ConfigRange(0)]
    public int? StragglerConcurrency { get; init; }

    [ConfigDoc("fedbuff, ftte: client-level differential privacy at every server step (clip, Gaussian noise, RDP accounting); absent: none.")]
    public PrivacyConfig? Privacy { get; init; }

    [ConfigDoc("fedbuff, ftte: secure aggregation (SecAgg+): each server step is the unmasked sum of a group of devices; the server never sees one update. Absent: updates in the clear.")]
    public SecureAggregationConfig? SecureAggregation { get; init; }

    /// <summary>Default size of ftte's proxy set when <see cref="ProxySamples"/> is absent.</summary>
    public const int DefaultProxySamples = 512;

    /// <summary>Seed of the proxy set drawn from the training split (the same in simulation and on a real server).</summary>
    public static ulong ProxySeed(ulong seed) => Rng.Mix(seed, 0x9A0C5);

    /// <summary>How many proxy samples the experiment should hand to <see cref="Create"/> (ftte only; 0 for other kinds).</summary>
    public int ProxySampleCount => Kind == StrategyKind.Ftte ? ProxySamples ?? DefaultProxySamples : 0;

    /// <summary>The label reports use.</summary>
    public string Label => Name ?? Kind.ToString().ToLowerInvariant();

    private static readonly Dictionary<StrategyKind, string[]> KeysOf = new()
    {
        [StrategyKind.Fedavg] = ["devicesPerRound", "overSelection", "deadline", "serverLearningRate"],
        [StrategyKind.Fedasync] = ["concurrency", "alpha", "staleness", "stalenessA", "stalenessB", "maxStaleness"],
        [StrategyKind.Fedbuff] = ["concurrency", "bufferSize", "serverLearningRate", "staleness", "stalenessA", "stalenessB", "maxStaleness", "privacy", "secureAggregation"],
        [StrategyKind.Ftte] = ["concurrency", "bufferSize", "serverLearningRate", "staleness", "stalenessA", "stalenessB", "maxStaleness",
                               "budget", "weighting", "selection", "proxySamples", "stragglerFactor", "stragglerConcurrency", "nestedBudgets", "contributionSlack", "contributionMetric",
                               "reselectAfter", "reselectMargin", "privacy", "secureAggregation"],
    };

    public void Validate(string path)
    {
        var set = new List<string>();
        if (DevicesPerRound is not null) set.Add("devicesPerRound");
        if (OverSelection is not null) set.Add("overSelection");
        if (Deadline is not null) set.Add("deadline");
        if (ServerLearningRate is not null) set.Add("serverLearningRate");
        if (Concurrency is not null) set.Add("concurrency");
        if (BufferSize is not null) set.Add("bufferSize");
        if (Alpha is not null) set.Add("alpha");
        if (Staleness is not null) set.Add("staleness");
        if (StragglerFactor is not null) set.Add("stragglerFactor");
        if (StragglerConcurrency is not null) set.Add("stragglerConcurrency");
        if (StalenessA is not null) set.Add("stalenessA");
        if (StalenessB is not null) set.Add("stalenessB");
        if (MaxStaleness is not null) set.Add("maxStaleness");
        if (Budget is not null) set.Add("budget");
        if (Weighting is not null) set.Add("weighting");
        if (Selection is not null) set.Add("selection");
        if (ProxySamples is not null) set.Add("proxySamples");
        if (NestedBudgets is not null) set.Add("nestedBudgets");
        if (ContributionSlack is not null) set.Add("contributionSlack");
        if (ContributionMetric is not null) set.Add("contributionMetric");
        if (ReselectAfter is not null) set.Add("reselectAfter");
        if (ReselectMargin is not null) set.Add("reselectMargin");
        if (Privacy is not null) set.Add("privacy");
        if (SecureAggregation is not null) set.Add("secureAggregation");
        var allowed = KeysOf[Kind];
        foreach (string key in set)
            if (!allowed.Contains(key))
                throw new ConfigException(ConfigPath.Child(path, key),
                    $"'{key}' does not apply to {Kind.ToString().ToLowerInvariant()}; its keys are {string.Join(", ", allowed)} (plus kind, name, trainable).");
        if (Privacy is { AdaptiveQuantile: not null } dp)
        {
            // Adaptive clipping splits z between the sum and a count noised with σ_b = K/20 (Andrew et al. 2021):
            // z_Δ = (z⁻² − (2σ_b)⁻²)^(−½) exists only when 2σ_b > z. Said here, not after the other strategies of a compare ran.
            int k = BufferSize ?? 10;
            if (2 * (k / 20.0) <= dp.NoiseMultiplier)
                throw new ConfigException(ConfigPath.Child(ConfigPath.Child(path, "privacy"), "adaptiveQuantile"), string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"adaptive clipping noises its count with σ_b = K/20 = {k / 20.0:0.###}, which needs 2σ_b > noiseMultiplier = {dp.NoiseMultiplier:0.###}; drop adaptiveQuantile (fixed clipNorm) or use bufferSize > {Math.Floor(10 * dp.NoiseMultiplier):0}."));
        }
        if (Privacy is not null && Kind == StrategyKind.Ftte)
        {
            if (Weighting == "age-and-variance")
                throw new ConfigException(ConfigPath.Child(path, "weighting"), "with privacy, use \"age\" or \"none\": the variance weight depends on the other updates in a step, so the step's sensitivity would no longer be the clip norm.");
            if (NestedBudgets is { Count: > 0 })
                throw new ConfigException(ConfigPath.Child(path, "nestedBudgets"), "nested budgets cannot be combined with privacy yet; remove one of them.");
        }
        if (ReselectAfter is > 0 && Kind == StrategyKind.Ftte)
        {
            // Said at parse, naming the key, rather than by the strategy's constructor after other strategies of a compare ran.
            var at = ConfigPath.Child(path, "reselectAfter");
            // A fixed trainable set is the first choice, trained until the re-selection (a restarted server stores its first choice so).
            if (Selection is not (null or "search"))
                throw new ConfigException(at, "re-selection re-runs the search; remove it, or use selection \"search\".");
            if (Privacy is not null || SecureAggregation is not null)
                throw new ConfigException(at, "re-selection cannot be combined with privacy or secureAggregation yet (they fix the trained coordinates at start); remove one of them.");
        }
        if (ReselectMargin is not null && Kind == StrategyKind.Ftte && EffectiveReselectAfter is null)
            throw new ConfigException(ConfigPath.Child(path, "reselectMargin"),
                "this entry makes no re-selection checks (reselectAfter 0, a fixed trainable set without reselectAfter, another selection, privacy or secureAggregation), so the margin would do nothing; remove it.");
        if (Privacy is { Noise: "distributed" } && SecureAggregation is null)
            throw new ConfigException(ConfigPath.Child(ConfigPath.Child(path, "privacy"), "noise"),
                "distributed noise needs secureAggregation (without it the server sees each device's noised update); add a secureAggregation block or use \"central\".");
        if (SecureAggregation is { } secure)
        {
            var at = ConfigPath.Child(path, "secureAggregation");
            if (secure.RingBits is not (16 or 32))
                throw new ConfigException(ConfigPath.Child(at, "ringBits"), $"{secure.RingBits} is not a ring this protocol uses; use 16 or 32.");
            if (secure.ValueBits is { } bits && bits >= secure.RingBits)
                throw new ConfigException(ConfigPath.Child(at, "valueBits"), $"{bits}-bit values leave no room for a sum in a {secure.RingBits}-bit ring; use fewer value bits or ringBits 32.");
            if (secure.RingBits == 16 && secure.ValueBits is null)
                throw new ConfigException(ConfigPath.Child(at, "valueBits"), "a 16-bit ring needs quantised values (e.g. valueBits 8) so that a group's sum fits.");
            if (secure.ValueBits is not null && secure.ValueRange is null && Privacy is null)
                throw new ConfigException(ConfigPath.Child(at, "valueRange"), "quantised values without privacy need valueRange (the clamp c; the step is c/(2^(b−1) − 1)); with privacy it follows from the clip norm.");
            if (secure.GroupSize is { } g && g < (BufferSize ?? 10))
                throw new ConfigException(ConfigPath.Child(at, "groupSize"), $"a group of {g} cannot hold the bufferSize = {BufferSize ?? 10} updates a step needs.");
            if (Weighting == "age-and-variance")
                throw new ConfigException(ConfigPath.Child(path, "weighting"), "with secureAggregation, use \"age\" or \"none\": the server sees only a group's sum, so it cannot weigh single updates by their variance.");
            if (NestedBudgets is { Count: > 0 })
                throw new ConfigException(ConfigPath.Child(path, "nestedBudgets"), "nested budgets cannot be combined with secureAggregation yet; remove one of them.");
            if (Privacy?.AdaptiveQuantile is not null)
                throw new ConfigException(ConfigPath.Child(ConfigPath.Child(path, "privacy"), "adaptiveQuantile"), "adaptive clipping counts clipped updates one by one, which secure aggregation hides; use a fixed clipNorm.");
            if (Privacy?.MaxParticipations is not null)
                throw new ConfigException(ConfigPath.Child(ConfigPath.Child(path, "privacy"), "maxParticipations"), "a participation cap is not enforced under secureAggregation yet; remove one of them.");
        }
        if (Budget is not null)
        {
            try { MemoryBudget.Parse(Budget); }
            catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
            {
                throw new ConfigException(ConfigPath.Child(path, "budget"), e.Message);
            }
        }
        for (int i = 0; i < (NestedBudgets?.Count ?? 0); i++)
        {
            try { MemoryBudget.Parse(NestedBudgets![i]); }
            catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
            {
                throw new ConfigException(ConfigPath.Index(ConfigPath.Child(path, "nestedBudgets"), i), e.Message);
            }
        }
    }

    /// <summary>Builds the strategy; <paramref name="seed"/> drives its device sampling (and ftte's analysis and search).</summary>
    /// <param name="proxy">ftte only: the server's proxy set for contribution analysis, <see cref="ProxySampleCount"/> samples of the
    /// training split; required by selection "search" unless a trainable set is fixed; ignored by other kinds.</param>
    /// <param name="secureNoise">DP noise from the OS's cryptographic generator (deployment); false: seeded (simulation, reproducible).</param>
    public Strategy Create(LocalTraining local, bool ignoreMemory, ulong seed, ISampleSource? proxy = null, bool secureNoise = false)
    {
        var noise = secureNoise ? Ftte.Federation.Privacy.NoiseSource.Secure() : null;
        string trainable = Trainable ?? "all";
        StalenessFunction? staleness = Staleness is { } kind
            ? new StalenessFunction(kind, StalenessA ?? 0.5, StalenessB ?? 4)
            : null;
        return Kind switch
        {
            StrategyKind.Fedavg => new FedAvg(new FedAvgOptions(
                DevicesPerRound ?? 10, OverSelection ?? 1.0, Deadline, ServerLearningRate ?? 1.0, trainable, ignoreMemory, seed), local),
            StrategyKind.Fedasync => new FedAsync(new FedAsyncOptions(
                Concurrency ?? 20, Alpha ?? 0.6, staleness, MaxStaleness, trainable, ignoreMemory, seed), local),
            StrategyKind.Fedbuff => new FedBuff(new FedBuffOptions(
                Concurrency ?? 20, BufferSize ?? 10, ServerLearningRate ?? 1.0, staleness, MaxStaleness, trainable, ignoreMemory, seed,
                Privacy?.ToOptions(BufferSize ?? 10), SecureAggregation?.ToOptions()), local, noise),
            StrategyKind.Ftte => new FtteStrategy(new FtteOptions(
                Concurrency ?? 20, BufferSize ?? 10, ServerLearningRate ?? 1.0, MaxStaleness,
                Budget is null ? null : MemoryBudget.Parse(Budget),
                // Under privacy or secure aggregation the default weighting is age only (the variance weight is not allowed there).
                Weighting switch { "none" => FtteWeighting.None, "age" => FtteWeighting.Age, _ => Privacy is null && SecureAggregation is null ? FtteWeighting.AgeAndVariance : FtteWeighting.Age },
                Trainable,
                Selection switch { "last-k" => SelectionMethod.LastK, "bias" => SelectionMethod.BiasOnly, "random" => SelectionMethod.Random, _ => SelectionMethod.Search },
                Staleness: staleness, IgnoreMemory: ignoreMemory, Seed: seed,
                StragglerFactor: StragglerFactor ?? 4.0, StragglerConcurrency: StragglerConcurrency,
                NestedBudgets: NestedBudgets?.Select(MemoryBudget.Parse).ToList(),
                Search: ContributionSlack is { } slack ? new SearchOptions(Seed: seed, Slack: slack) : null,
                Contribution: ContributionMetric is { } metric ? new ContributionOptions(BatchSize: local.BatchSize, Optimizer: local.Optimizer, Seed: seed,
                    Metric: metric switch { "accuracy" => Ftte.Federation.Selection.ContributionMetric.AccuracyGain, "loss" => Ftte.Federation.Selection.ContributionMetric.LossReduction, _ => Ftte.Federation.Selection.ContributionMetric.GradientSquared }) : null,
                Privacy: Privacy?.ToOptions(BufferSize ?? 10), SecureAggregation: SecureAggregation?.ToOptions(), ReselectAfter: EffectiveReselectAfter,
                ReselectMargin: ReselectMargin ?? FtteOptions.DefaultReselectMargin), local, proxy, noise),
            _ => throw new ConfigException($"Strategy kind {Kind} has no factory."),
        };
    }
}
