using System.Globalization;
using System.Text;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Planning;
using Ftte.Engine.Training;

namespace Ftte.Federation.Selection;

/// <summary>How the trainable set is chosen: FTTE's search, or one of the ablation baselines at the same budget.</summary>
public enum SelectionMethod { Search, LastK, BiasOnly, Random }

/// <summary>Evolutionary search settings: (μ+λ) with μ = <paramref name="Population"/>, λ = <paramref name="Offspring"/>.</summary>
/// <param name="PairMoveLimit">The final local search also tries "lower one tensor, raise another" moves when there are at most this many such pairs.</param>
/// <param name="Slack">Trade contribution for memory: among the sets the search evaluated, take the one with the smallest
/// planned peak whose contribution is at least (1 − slack) × the best's. 0 keeps the best (fills the budget).</param>
public sealed record SearchOptions(int Population = 16, int Offspring = 32, int Generations = 30, int PairMoveLimit = 4096, ulong Seed = 1, double Slack = 0);

/// <summary>One tensor of a chosen set, with its measured gain.</summary>
public sealed record SelectedTensor(string Tensor, TensorTraining Option, double Gain);

/// <summary>What a selection chose, what it is worth, and what it costs: printable for the run log and the report.</summary>
public sealed class SelectionResult
{
    internal SelectionResult(SelectionMethod method, TrainableSet trainable, IReadOnlyList<SelectedTensor> choices, double contribution,
        MemoryPlan plan, int batch, int requestedBatch, long budgetBytes, int plannerCalls)
    {
        Method = method;
        Trainable = trainable;
        Choices = choices;
        Contribution = contribution;
        Plan = plan;
        Batch = batch;
        RequestedBatch = requestedBatch;
        BudgetBytes = budgetBytes;
        PlannerCalls = plannerCalls;
    }

    public SelectionMethod Method { get; }
    public TrainableSet Trainable { get; }
    public IReadOnlyList<SelectedTensor> Choices { get; }
    /// <summary>Σ measured gain of the chosen units (additive, Lin et al. 2022).</summary>
    public double Contribution { get; }
    /// <summary>The planner's verdict on the chosen set at <see cref="Batch"/>: <c>Plan.PeakBytes ≤ BudgetBytes</c>.</summary>
    public MemoryPlan Plan { get; }
    public long PeakBytes => Plan.PeakBytes;
    /// <summary>The batch the set was planned for: the configured one, halved until something fits.</summary>
    public int Batch { get; }
    public int RequestedBatch { get; }
    public long BudgetBytes { get; }
    /// <summary>Distinct planner evaluations the method needed.</summary>
    public int PlannerCalls { get; }

    public string ToText()
    {
        var sb = new StringBuilder();
        string method = Method switch { SelectionMethod.LastK => "last-k", SelectionMethod.BiasOnly => "bias-only", SelectionMethod.Random => "random", _ => "search" };
        sb.Append(CultureInfo.InvariantCulture, $"Trainable set ({method}) under budget {ByteSize.Format(BudgetBytes)}, batch {Batch}");
        if (Batch != RequestedBatch) sb.Append(CultureInfo.InvariantCulture, $" (halved from {RequestedBatch} to fit)");
        sb.Append(CultureInfo.InvariantCulture, $": {Trainable}\n");
        foreach (var c in Choices)
            sb.Append(CultureInfo.InvariantCulture, $"  {c.Tensor,-24} {c.Option,-6} gain {c.Gain:F5}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  contribution {Contribution:F5}; plan peak {ByteSize.Format(PeakBytes)} ({PeakBytes:N0} B, {(double)PeakBytes / BudgetBytes:P0} of budget); {PlannerCalls} planner calls\n");
        foreach (var (category, bytes) in Plan.Categories)
            sb.Append(CultureInfo.InvariantCulture, $"    {category,-38} {ByteSize.Format(bytes),11}\n");
        return sb.ToString();
    }

    public override string ToString() =>
        $"{Trainable} (contribution {Contribution.ToString("F4", CultureInfo.InvariantCulture)}, peak {ByteSize.Format(PeakBytes)}, batch {Batch})";
}

/// <summary>
/// Chooses the trainable set: per tensor one option (frozen, or one of its measured units), maximising the summed
/// contribution (Lin et al. 2022's sparse-update search) subject to the memory planner's peak ≤ budget.
///
/// Method. Memory is not additive — activations kept for backward depend on the lowest trained layer and on which
/// layers train weights versus biases only, and the arena packs buffers by lifetime — so the planner is asked about
/// every candidate, never a per-tensor cost model. The optimiser is a seeded (μ+λ) evolutionary search
/// (Beyer &amp; Schwefel 2002) over genomes "option index per tensor", options ordered frozen → fewest → most channels:
/// <list type="number">
/// <item>Initial population: a greedy fill (repeatedly the feasible one-tensor raise with the best gain per planned
/// byte), the bias-only set, the best single units, and random genomes; all repaired.</item>
/// <item>Offspring: binary-tournament parents, uniform crossover, each gene re-drawn with probability 1/T (at least
/// one), then repair: while the planner says it does not fit, a random trained tensor steps one option down.
/// Every individual is therefore feasible; fitness is its summed contribution (ties: fewer planned bytes, then the
/// genome's text, so the order is total and the run deterministic).</item>
/// <item>Survivors: the best μ distinct genomes of parents ∪ offspring.</item>
/// <item>Polish: best-improvement local search with single-tensor moves and, for small models, pair moves
/// (one tensor down, another up) — the swaps a knapsack optimum often needs.</item>
/// </list>
/// Planner results are memoised per genome. Tests check the result against brute-force enumeration on a small MLP.
/// </summary>
public sealed class ParameterSearch
{
    private readonly Model _model;
    private readonly ContributionReport _contributions;
    private readonly OptimizerOptions _optimizer;
    private readonly SearchOptions _options;
    private readonly string[] _tensors;
    private readonly TensorTraining[][] _choices;
    private readonly double[][] _gains;
    private readonly Dictionary<string, long> _peaks = new(StringComparer.Ordinal);
    /// <summary>Least option per tensor the current search may use (all zero unless it must contain a set).</summary>
    private int[] _floor = [];

    /// <param name="batch">The configured local batch; halved until the cheapest non-empty set fits.</param>
    /// <exception cref="InvalidOperationException">Nothing fits even at batch 1.</exception>
    public ParameterSearch(Model model, ContributionReport contributions, long budgetBytes, int batch, OptimizerOptions optimizer, SearchOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(contributions);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (budgetBytes <= 0) throw new ArgumentOutOfRangeException(nameof(budgetBytes), budgetBytes, "The memory budget must be positive.");
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch must be at least 1.");
        _model = model;
        _contributions = contributions;
        _optimizer = optimizer;
        _options = options ?? new SearchOptions();
        BudgetBytes = budgetBytes;
        RequestedBatch = batch;

        var tensors = new List<string>();
        var choices = new List<TensorTraining[]>();
        var gains = new List<double[]>();
        foreach (var p in model.Parameters)
        {
            var units = contributions.Units.Where(u => u.Tensor == p.Name).OrderBy(u => u.Channels).ToArray();
            if (units.Length == 0) continue;
            tensors.Add(p.Name);
            choices.Add([TensorTraining.Frozen, .. units.Select(u => u.Option)]);
            gains.Add([0, .. units.Select(u => contributions.Gain(u.Tensor, u.Option))]);
        }
        if (tensors.Count == 0) throw new ArgumentException($"The contribution report has no unit of model '{model.Name}'.", nameof(contributions));
        _tensors = [.. tensors];
        _floor = new int[_tensors.Length];
        _choices = [.. choices];
        _gains = [.. gains];

        // If nothing fits at the configured batch, halve it until the cheapest non-empty set (one tensor at its
        // smallest option) fits: a smaller batch is the one knob that shrinks every activation.
        Batch = batch;
        while (true)
        {
            var (peak, cheapest) = CheapestSingle();
            if (peak <= budgetBytes) break;
            if (Batch == 1)
            {
                var plan = MemoryPlanner.PlanTraining(model, ToSet(cheapest), 1, optimizer);
                var (category, bytes) = plan.Categories[0];
                throw new InvalidOperationException(
                    $"FTTE selection: nothing trainable fits the memory budget {ByteSize.Format(budgetBytes)} ({budgetBytes:N0} B) even at batch 1: " +
                    $"the cheapest set ({ToSet(cheapest)}) needs {ByteSize.Format(plan.PeakBytes)} ({plan.PeakBytes:N0} B); largest consumer: {category} ({ByteSize.Format(bytes)}). " +
                    "Raise the budget (a quantile instead of the minimum, or more bytes) or use a smaller model.");
            }
            Batch = Math.Max(1, Batch / 2);
            _peaks.Clear(); // planned at the old batch
        }
    }

    public long BudgetBytes { get; }
    public int RequestedBatch { get; }
    /// <summary>The batch every set is planned at.</summary>
    public int Batch { get; }
    /// <summary>Distinct planner evaluations so far.</summary>
    public int PlannerCalls => _peaks.Count;
    /// <summary>Searchable tensors, in model order.</summary>
    public IReadOnlyList<string> Tensors => _tensors;
    /// <summary>Options of <see cref="Tensors"/>[t]: frozen first, then by channel count.</summary>
    public IReadOnlyList<TensorTraining> OptionsOf(int t) => _choices[t];
    public double GainOf(int t, int option) => _gains[t][option];

    /// <summary>Planned peak at <see cref="Batch"/> of a genome (option index per tensor), memoised.</summary>
    public long PeakOf(IReadOnlyList<int> genome)
    {
        string key = Key(genome);
        if (_peaks.TryGetValue(key, out long peak)) return peak;
        peak = IsEmpty(genome) ? 0 : MemoryPlanner.PlanTraining(_model, ToSet(genome), Batch, _optimizer).PeakBytes;
        _peaks[key] = peak;
        return peak;
    }

    public bool Fits(IReadOnlyList<int> genome) => PeakOf(genome) <= BudgetBytes;

    public double ContributionOf(IReadOnlyList<int> genome)
    {
        double sum = 0;
        for (int t = 0; t < genome.Count; t++) sum += _gains[t][genome[t]];
        return sum;
    }

    /// <summary>The trainable set of a genome.</summary>
    public TrainableSet ToSet(IReadOnlyList<int> genome)
    {
        var rules = new Dictionary<string, TensorTraining>(StringComparer.Ordinal);
        for (int t = 0; t < genome.Count; t++)
            if (genome[t] > 0) rules[_tensors[t]] = _choices[t][genome[t]];
        return new TrainableSet(rules);
    }

    public SelectionResult Run(SelectionMethod method) => method switch
    {
        SelectionMethod.Search => Search(),
        SelectionMethod.LastK => LastK(),
        SelectionMethod.BiasOnly => BiasOnly(),
        SelectionMethod.Random => RandomChoice(),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown selection method."),
    };

    /// <summary>The evolutionary search described on the class.</summary>
    public SelectionResult Search() => Search(null);

    /// <summary>
    /// The search restricted to sets that contain <paramref name="containing"/> (every tensor at least at its option
    /// there): nested subsets for devices with more memory than the weakest. Channel ratios take the first channels,
    /// so a larger option of a tensor contains a smaller one.
    /// </summary>
    /// <exception cref="InvalidOperationException"><paramref name="containing"/> is not made of candidate options or does not fit.</exception>
    public SelectionResult Search(TrainableSet? containing)
    {
        _floor = new int[_tensors.Length];
        if (containing is not null)
        {
            _floor = FromSet(containing)
                ?? throw new InvalidOperationException($"The set to contain ({containing}) uses options that are not candidates of this search.");
            if (!Fits(_floor))
                throw new InvalidOperationException($"The set to contain ({containing}) needs {ByteSize.Format(PeakOf(_floor))} at batch {Batch}, over the budget {ByteSize.Format(BudgetBytes)}.");
        }
        var rng = new Rng(Rng.Mix(_options.Seed, 0x5EA4C));
        int T = _tensors.Length;
        var population = new List<Individual>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Offer(int[] genome, List<Individual> into)
        {
            for (int t = 0; t < genome.Length; t++) genome[t] = Math.Max(genome[t], _floor[t]);
            Repair(genome, rng);
            if (IsEmpty(genome) || !seen.Add(Key(genome))) return;
            into.Add(Evaluate(genome));
        }

        Offer(Greedy(), population);
        Offer([.. Enumerable.Range(0, T).Select(t => IsBiasLike(t) ? 1 : 0)], population);
        foreach (var (t, k) in Enumerable.Range(0, T).SelectMany(t => Enumerable.Range(1, _choices[t].Length - 1).Select(k => (t, k)))
                                         .OrderByDescending(x => _gains[x.t][x.k]).Take(_options.Population / 2))
        {
            var single = new int[T];
            single[t] = k;
            Offer(single, population);
        }
        for (int attempt = 0; population.Count < _options.Population && attempt < 8 * _options.Population; attempt++)
            Offer(RandomGenome(rng), population);
        Sort(population);

        for (int generation = 0; generation < _options.Generations && population.Count > 0; generation++)
        {
            var offspring = new List<Individual>();
            for (int j = 0; j < _options.Offspring; j++)
            {
                var a = Tournament(population, rng);
                var b = Tournament(population, rng);
                var child = new int[T];
                for (int t = 0; t < T; t++) child[t] = rng.NextDouble() < 0.5 ? a.Genome[t] : b.Genome[t];
                bool mutated = false;
                for (int t = 0; t < T; t++)
                    if (rng.NextDouble() < 1.0 / T) { child[t] = rng.NextInt(_choices[t].Length); mutated = true; }
                if (!mutated) { int t = rng.NextInt(T); child[t] = rng.NextInt(_choices[t].Length); }
                Offer(child, offspring);
            }
            population.AddRange(offspring);
            Sort(population);
            if (population.Count > _options.Population) population.RemoveRange(_options.Population, population.Count - _options.Population);
        }
        var best = population.Count > 0 ? population[0].Genome : containing is null ? Cheapest() : (int[])_floor.Clone();
        best = Polish(best);
        if (_options.Slack > 0) best = Knee(best);
        return Result(SelectionMethod.Search, best);
    }

    /// <summary>Baseline: all tensors of the last k layers with parameters, for the largest k that fits.</summary>
    public SelectionResult LastK()
    {
        int layers = _model.Layers.Count(l => l.Parameters.Count > 0);
        for (int k = layers; k >= 1; k--)
        {
            var genome = FromSet(TrainableSet.LastLayers(_model, k));
            if (genome is not null && Fits(genome)) return Result(SelectionMethod.LastK, genome);
        }
        throw new InvalidOperationException($"Last-k baseline: not even the last layer fits {ByteSize.Format(BudgetBytes)} at batch {Batch}.");
    }

    /// <summary>
    /// Baseline: every bias (TinyTL, Cai et al. 2020). Its set is fixed, so at equal budget the batch is the one knob: halved
    /// (the search's own rule) until the set fits.
    /// </summary>
    public SelectionResult BiasOnly()
    {
        var genome = FromSet(TrainableSet.BiasOnly(_model));
        if (genome is null || IsEmpty(genome)) throw new InvalidOperationException($"Bias-only baseline: model '{_model.Name}' has no bias to train.");
        for (int batch = Batch; ; batch /= 2)
        {
            long peak = MemoryPlanner.PlanTraining(_model, ToSet(genome), batch, _optimizer).PeakBytes;
            if (peak <= BudgetBytes) return Result(SelectionMethod.BiasOnly, genome, batch);
            if (batch == 1)
                throw new InvalidOperationException($"Bias-only baseline: every bias needs {ByteSize.Format(peak)} even at batch 1; the budget is {ByteSize.Format(BudgetBytes)}.");
        }
    }

    /// <summary>
    /// Baseline: one seeded random feasible set that uses the budget (a single draw, not the best of several, so it
    /// shows what an uninformed choice gets): tensors in random order, each given a uniformly random non-frozen
    /// option, stepped down while it does not fit (frozen if nothing does).
    /// </summary>
    public SelectionResult RandomChoice()
    {
        var rng = new Rng(Rng.Mix(_options.Seed, 0x7A2D));
        int T = _tensors.Length;
        var order = Enumerable.Range(0, T).ToArray();
        rng.Shuffle(order.AsSpan());
        var genome = new int[T];
        foreach (int t in order)
        {
            genome[t] = 1 + rng.NextInt(_choices[t].Length - 1);
            while (genome[t] > 0 && !Fits(genome)) genome[t]--;
        }
        if (IsEmpty(genome)) genome = Cheapest();
        return Result(SelectionMethod.Random, genome);
    }

    private SelectionResult Result(SelectionMethod method, int[] genome, int? batch = null)
    {
        var set = ToSet(genome);
        var plan = MemoryPlanner.PlanTraining(_model, set, batch ?? Batch, _optimizer);
        if (plan.PeakBytes > BudgetBytes) throw new InvalidOperationException($"Internal: {method} chose {set}, which the planner says needs {plan.PeakBytes} B > {BudgetBytes} B.");
        var choices = Enumerable.Range(0, genome.Length).Where(t => genome[t] > 0)
            .Select(t => new SelectedTensor(_tensors[t], _choices[t][genome[t]], _gains[t][genome[t]])).ToArray();
        return new SelectionResult(method, set, choices, ContributionOf(genome), plan, batch ?? Batch, RequestedBatch, BudgetBytes, PlannerCalls);
    }

    // ---- search internals ------------------------------------------------------------------------

    private sealed record Individual(int[] Genome, double Fitness, long Peak, string Key);

    private Individual Evaluate(int[] genome) => new(genome, ContributionOf(genome), PeakOf(genome), Key(genome));

    /// <summary>Total order: higher contribution, then fewer bytes, then genome text.</summary>
    private static int Compare(Individual a, Individual b)
    {
        int c = b.Fitness.CompareTo(a.Fitness);
        if (c != 0) return c;
        c = a.Peak.CompareTo(b.Peak);
        return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
    }

    private static void Sort(List<Individual> population) => population.Sort(Compare);

    private static Individual Tournament(List<Individual> population, Rng rng)
    {
        var a = population[rng.NextInt(population.Count)];
        var b = population[rng.NextInt(population.Count)];
        return Compare(a, b) <= 0 ? a : b;
    }

    /// <summary>
    /// The cheapest evaluated set (smallest planned peak; ties: more contribution, then genome text) within the slack
    /// of <paramref name="best"/>'s contribution, respecting the floor: the knee of the contribution/memory curve.
    /// </summary>
    private int[] Knee(int[] best)
    {
        double needed = (1 - _options.Slack) * ContributionOf(best);
        var chosen = Evaluate(best);
        foreach (string key in _peaks.Keys.ToList())
        {
            int[] g = [.. key.Split(',').Select(int.Parse)];
            if (IsEmpty(g) || !Fits(g) || ContributionOf(g) < needed) continue;
            bool aboveFloor = true;
            for (int t = 0; t < g.Length; t++) if (g[t] < _floor[t]) { aboveFloor = false; break; }
            if (!aboveFloor) continue;
            var candidate = Evaluate(g);
            int c = candidate.Peak.CompareTo(chosen.Peak);
            if (c == 0) c = chosen.Fitness.CompareTo(candidate.Fitness);
            if (c == 0) c = string.CompareOrdinal(candidate.Key, chosen.Key);
            if (c < 0) chosen = candidate;
        }
        return chosen.Genome;
    }

    /// <summary>While the planner says it does not fit, a random tensor above its floor steps one option down.</summary>
    private void Repair(int[] genome, Rng rng)
    {
        var trained = new List<int>();
        while (!Fits(genome))
        {
            trained.Clear();
            for (int t = 0; t < genome.Length; t++) if (genome[t] > _floor[t]) trained.Add(t);
            genome[trained[rng.NextInt(trained.Count)]]--;
        }
    }

    private int[] RandomGenome(Rng rng)
    {
        var g = new int[_tensors.Length];
        for (int t = 0; t < g.Length; t++) g[t] = rng.NextInt(_choices[t].Length);
        return g;
    }

    /// <summary>Greedy fill: repeatedly the feasible one-tensor raise with the best gain per extra planned byte.</summary>
    private int[] Greedy()
    {
        var g = (int[])_floor.Clone();
        while (true)
        {
            long peak = PeakOf(g);
            double bestScore = 0;
            (int t, int k) best = (-1, -1);
            for (int t = 0; t < g.Length; t++)
                for (int k = g[t] + 1; k < _choices[t].Length; k++)
                {
                    double gain = _gains[t][k] - _gains[t][g[t]];
                    if (gain <= 0) continue;
                    int old = g[t];
                    g[t] = k;
                    long p = PeakOf(g);
                    g[t] = old;
                    if (p > BudgetBytes) continue;
                    double score = gain / Math.Max(1, p - peak);
                    if (score > bestScore) { bestScore = score; best = (t, k); }
                }
            if (best.t < 0) return g;
            g[best.t] = best.k;
        }
    }

    /// <summary>Best-improvement local search: single-tensor moves, then (small models) one-down-one-up pairs.</summary>
    private int[] Polish(int[] start)
    {
        var current = Evaluate((int[])start.Clone());
        while (true)
        {
            Individual? best = null;
            void Consider(int[] g)
            {
                if (IsEmpty(g) || !Fits(g)) return;
                for (int t = 0; t < g.Length; t++) if (g[t] < _floor[t]) return;
                var candidate = Evaluate((int[])g.Clone());
                if (Compare(candidate, best ?? current) < 0) best = candidate;
            }
            var g = (int[])current.Genome.Clone();
            for (int t = 0; t < g.Length; t++)
            {
                int old = g[t];
                for (int k = 0; k < _choices[t].Length; k++) if (k != old) { g[t] = k; Consider(g); }
                g[t] = old;
            }
            if (best is null)
            {
                int downs = g.Sum(x => x), ups = g.Select((x, t) => _choices[t].Length - 1 - x).Sum();
                if ((long)downs * ups <= _options.PairMoveLimit)
                    for (int a = 0; a < g.Length; a++)
                        for (int ka = 0; ka < g[a]; ka++)
                            for (int b = 0; b < g.Length; b++)
                            {
                                if (b == a) continue;
                                for (int kb = g[b] + 1; kb < _choices[b].Length; kb++)
                                {
                                    int oa = g[a], ob = g[b];
                                    g[a] = ka; g[b] = kb;
                                    Consider(g);
                                    g[a] = oa; g[b] = ob;
                                }
                            }
            }
            if (best is null) return current.Genome;
            current = best;
        }
    }

    private (long Peak, int[] Genome) CheapestSingle()
    {
        long bestPeak = long.MaxValue;
        int[] best = [];
        for (int t = 0; t < _tensors.Length; t++)
        {
            var g = new int[_tensors.Length];
            g[t] = 1;
            long p = PeakOf(g);
            if (p < bestPeak) { bestPeak = p; best = g; }
        }
        return (bestPeak, best);
    }

    private int[] Cheapest() => CheapestSingle().Genome;

    private bool IsBiasLike(int t) => _model.Parameter(_tensors[t]).Role != ParameterRole.Weight;

    /// <summary>The genome of a rule set, or null when it uses an option that is not a candidate.</summary>
    private int[]? FromSet(TrainableSet set)
    {
        var g = new int[_tensors.Length];
        foreach (var (name, rule) in set.Rules)
        {
            if (rule.Mode == TrainingMode.Frozen) continue;
            int t = Array.IndexOf(_tensors, name);
            if (t < 0) return null;
            int k = Array.FindIndex(_choices[t], o => o.ToString() == rule.ToString());
            if (k < 0) return null;
            g[t] = k;
        }
        return g;
    }

    private static bool IsEmpty(IReadOnlyList<int> genome)
    {
        for (int t = 0; t < genome.Count; t++) if (genome[t] != 0) return false;
        return true;
    }

    private static string Key(IReadOnlyList<int> genome) => string.Join(",", genome);
}
