using System.Globalization;
using System.Text;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Training;

namespace Ftte.Federation.Selection;

/// <summary>One way to train one tensor: a bias (or norm) tensor in full, or a weight tensor at a channel ratio.</summary>
public sealed record CandidateUnit(string Tensor, TensorTraining Option, int Channels, int Elements)
{
    public string Key => $"{Tensor}={Option}";
    public override string ToString() => Key;
}

/// <summary>
/// How a unit's contribution is measured: by training it alone and scoring the held-out part of the proxy set (loss reduction,
/// accuracy gain), or to first order from the proxy set's mean gradient (<see cref="GradientSquared"/>).
/// </summary>
public enum ContributionMetric
{
    LossReduction,
    AccuracyGain,
    /// <summary>
    /// Steps · η · Σ_{i ∈ unit} ḡ_i², the first-order loss reduction of training the unit with plain SGD, ḡ the mean gradient
    /// over the whole proxy set at the current weights. Additive across units by construction and never negative; unlike a
    /// short training run it does not turn into "which unit hurts least" on weights that are already trained, where a fixed
    /// learning rate overshoots on a small proxy set.
    /// </summary>
    GradientSquared,
}

/// <param name="Steps">Optimizer steps per unit: a short, fixed budget so every unit is compared on equal work.</param>
/// <param name="BatchSize">Mini-batch of those steps; the first-order measure's chunk of the proxy set.</param>
/// <param name="Optimizer">Optimizer of those steps; null: SGD, learning rate 0.05 (the default local training).</param>
/// <param name="HeldOutFraction">Share of the proxy set kept out of training and used to score.</param>
/// <param name="Ratios">Channel ratios tried for weight tensors (Lin et al. 2022: 1/8, 1/4, 1/2, 1).</param>
/// <param name="Metric">How a unit is measured; the first-order <see cref="ContributionMetric.GradientSquared"/> by default: on
/// paper-mnist's 100-device fleet and in the quick preset the trained-alone measure picked, at the re-selection, slices of the
/// classifier that hurt least and stalled under the target, where the first-order measure reached it (README).</param>
public sealed record ContributionOptions(int Steps = 20, int BatchSize = 16, OptimizerOptions? Optimizer = null,
    double HeldOutFraction = 0.3, ContributionMetric Metric = ContributionMetric.GradientSquared, IReadOnlyList<double>? Ratios = null, ulong Seed = 1)
{
    public IReadOnlyList<double> EffectiveRatios => Ratios ?? TensorTraining.StandardRatios;
    public OptimizerOptions EffectiveOptimizer => Optimizer ?? new SgdOptions { LearningRate = 0.05f };
}

/// <summary>Measured contribution of every candidate unit, from one set of global weights.</summary>
public sealed class ContributionReport
{
    private readonly Dictionary<string, double> _gain;

    internal ContributionReport(IReadOnlyList<CandidateUnit> units, double[] gains, double baselineLoss, double baselineAccuracy, ContributionMetric metric)
    {
        Units = units;
        Gains = gains;
        BaselineLoss = baselineLoss;
        BaselineAccuracy = baselineAccuracy;
        Metric = metric;
        _gain = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < units.Count; i++) _gain[units[i].Key] = gains[i];
    }

    /// <summary>
    /// A report with every gain 0, for selections that do not use contributions (last-k, bias-only, random,
    /// a fixed trainable set) when no proxy set is available.
    /// </summary>
    public static ContributionReport Unmeasured(Model model, IReadOnlyList<double>? ratios = null)
    {
        var units = ContributionAnalysis.Candidates(model, ratios);
        return new ContributionReport(units, new double[units.Count], double.NaN, double.NaN, ContributionMetric.LossReduction);
    }

    /// <summary>False for <see cref="Unmeasured"/>.</summary>
    public bool IsMeasured => !double.IsNaN(BaselineLoss);

    public IReadOnlyList<CandidateUnit> Units { get; }
    /// <summary>Gain of <see cref="Units"/>[i], clamped at 0.</summary>
    public IReadOnlyList<double> Gains { get; }
    public double BaselineLoss { get; }
    public double BaselineAccuracy { get; }
    public ContributionMetric Metric { get; }

    /// <summary>Gain of training <paramref name="tensor"/> with <paramref name="option"/>; 0 for frozen or an option that was not measured.</summary>
    public double Gain(string tensor, TensorTraining option) =>
        option.Mode == TrainingMode.Frozen ? 0 : _gain.GetValueOrDefault($"{tensor}={option}");

    /// <summary>
    /// Summed gain of a trainable set. Lin et al. 2022 assume contributions add up across tensors; a rule that
    /// was not measured (e.g. a ratio outside the candidates) counts at the largest measured option not above it.
    /// </summary>
    public double Of(Model model, TrainableSet set)
    {
        double total = 0;
        foreach (var (name, rule) in set.Rules)
        {
            if (rule.Mode == TrainingMode.Frozen) continue;
            if (_gain.TryGetValue($"{name}={rule}", out double g)) { total += g; continue; }
            int channels = rule.Mode == TrainingMode.ChannelList ? rule.Channels?.Count ?? 0
                : rule.Mode == TrainingMode.Full ? model.Parameter(name).OutputChannels
                : TrainableSet.RatioChannels(model.Parameter(name), rule.Ratio);
            double best = 0;
            for (int i = 0; i < Units.Count; i++)
                if (Units[i].Tensor == name && Units[i].Channels <= channels) best = Math.Max(best, Gains[i]);
            total += best;
        }
        return total;
    }

    public string ToText()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Contribution analysis ({Metric switch { ContributionMetric.LossReduction => "held-out loss reduction", ContributionMetric.AccuracyGain => "held-out accuracy gain", _ => "first order, steps·η·Σ mean gradient²" }}; baseline loss {BaselineLoss:F4}, accuracy {BaselineAccuracy:P1})\n");
        for (int i = 0; i < Units.Count; i++)
            sb.Append(CultureInfo.InvariantCulture, $"  {Units[i].Key,-28} {Units[i].Elements,9:N0} values  gain {Gains[i]:F5}\n");
        return sb.ToString();
    }
}

/// <summary>
/// Contribution analysis after Lin et al. 2022 ("On-Device Training Under 256KB Memory", §3.2 sparse update):
/// the gain of updating one unit — a bias tensor, or a weight tensor at channel ratio r ∈ {1/8, 1/4, 1/2, 1} —
/// is measured by training that unit alone, everything else frozen, and scoring the result; gains are then
/// assumed additive across units, which turns the choice of the trainable set into a knapsack
/// (<see cref="ParameterSearch"/>).
///
/// Here the server measures on a small proxy set it holds: a seeded split into a training part and a held-out
/// part; for each unit, from the current global weights, <see cref="ContributionOptions.Steps"/> steps on the
/// training part, then the held-out loss reduction (or accuracy gain), clamped at 0. Every unit sees the same
/// sequence of mini-batches (common random numbers), so differences between units are the units', not the
/// draw's. Deterministic for a seed; results are cached per (weights, unit).
/// </summary>
public sealed class ContributionAnalysis
{
    private readonly ISampleSource _proxy;
    private readonly Dictionary<(ulong Weights, string Unit), double> _cache = [];

    public ContributionAnalysis(ISampleSource proxy, ContributionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        Options = options ?? new ContributionOptions();
        if (Options.Steps < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.Steps, "Contribution analysis needs at least one step per unit.");
        if (Options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.BatchSize, "Contribution analysis needs a batch of at least 1.");
        if (!(Options.HeldOutFraction is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(options), Options.HeldOutFraction, "The held-out fraction lies strictly between 0 and 1.");
        if (proxy.Count < 4) throw new ArgumentException($"The proxy set has {proxy.Count} samples; contribution analysis needs at least 4 (some to train, some to score).", nameof(proxy));
        _proxy = proxy;
    }

    public ContributionOptions Options { get; }
    /// <summary>Units trained so far (cache misses): what the trained-alone measures cost (the first-order one trains none).</summary>
    public int UnitsTrained { get; private set; }

    /// <summary>
    /// The candidate units of a model: each bias / norm tensor in full; each weight tensor at each ratio, ratios
    /// giving the same number of channels merged (the smallest kept), ratio 1 written as full.
    /// </summary>
    public static IReadOnlyList<CandidateUnit> Candidates(Model model, IReadOnlyList<double>? ratios = null)
    {
        ratios ??= TensorTraining.StandardRatios;
        var units = new List<CandidateUnit>();
        foreach (var p in model.Parameters)
        {
            if (p.Role != ParameterRole.Weight)
            {
                units.Add(new CandidateUnit(p.Name, TensorTraining.Full, p.OutputChannels, p.Count));
                continue;
            }
            var seen = new HashSet<int>();
            foreach (double r in ratios.Order())
            {
                int c = TrainableSet.RatioChannels(p, r);
                if (!seen.Add(c)) continue;
                var option = c == p.OutputChannels ? TensorTraining.Full : TensorTraining.OfRatio(r);
                units.Add(new CandidateUnit(p.Name, option, c, c * p.ChannelSize));
            }
        }
        return units;
    }

    /// <summary>Measures every candidate unit from <paramref name="model"/>'s current weights (left unchanged).</summary>
    public ContributionReport Analyze(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (_proxy.SampleSize != model.InputShape.Size)
            throw new ArgumentException($"Proxy samples have {_proxy.SampleSize} values; model '{model.Name}' takes {model.InputShape.Size}.");
        var units = Candidates(model, Options.EffectiveRatios);

        // Seeded split of the proxy set into a training part and a held-out part.
        var order = new int[_proxy.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        new Rng(Rng.Mix(Options.Seed, 0xC0)).Shuffle(order.AsSpan());
        int heldOut = Math.Clamp((int)Math.Round(order.Length * Options.HeldOutFraction), 1, order.Length - 1);
        var score = new IndexedSamples(_proxy, order[..heldOut]);
        var train = new IndexedSamples(_proxy, order[heldOut..]);

        // The mini-batch sequence, the same for every unit.
        int batch = Math.Min(Options.BatchSize, train.Count);
        var steps = new int[Options.Steps * batch];
        var rng = new Rng(Rng.Mix(Options.Seed, 0xBA));
        var pass = new int[train.Count];
        for (int filled = 0; filled < steps.Length;)
        {
            for (int i = 0; i < pass.Length; i++) pass[i] = i;
            rng.Shuffle(pass.AsSpan());
            // Whole batches of each shuffled pass (batch ≤ pass length, so at least one).
            int take = Math.Min(pass.Length - pass.Length % batch, steps.Length - filled);
            pass.AsSpan(0, take).CopyTo(steps.AsSpan(filled));
            filled += take;
        }

        var work = model.Clone();
        var evaluator = new Evaluator(work, Math.Min(256, score.Count));
        var baseline = evaluator.Evaluate(score);
        if (Options.Metric == ContributionMetric.GradientSquared)
            return new ContributionReport(units, FirstOrderGains(work, units), baseline.Loss, baseline.Accuracy, Options.Metric);
        ulong weightsKey = Rng.Mix(Hash(model.Weights), Hash(Options));
        var gains = new double[units.Count];
        for (int u = 0; u < units.Count; u++)
        {
            var key = (weightsKey, units[u].Key);
            if (_cache.TryGetValue(key, out double cached)) { gains[u] = cached; continue; }
            model.Weights.CopyTo(work.Weights);
            var set = new TrainableSet(new Dictionary<string, TensorTraining> { [units[u].Tensor] = units[u].Option });
            var session = new TrainingSession(work, set, batch, Options.EffectiveOptimizer);
            for (int s = 0; s < Options.Steps; s++)
            {
                LocalTrainer.Fill(train, steps.AsSpan(s * batch, batch), session.Input, session.Labels);
                session.Step(batch);
            }
            var after = evaluator.Evaluate(score);
            double gain = Options.Metric == ContributionMetric.LossReduction ? baseline.Loss - after.Loss : after.Accuracy - baseline.Accuracy;
            // A unit whose training diverges (NaN loss) or hurts contributes nothing (Lin et al. keep gains ≥ 0 in the knapsack).
            gains[u] = double.IsFinite(gain) ? Math.Max(0, gain) : 0;
            _cache[key] = gains[u];
            UnitsTrained++;
        }
        return new ContributionReport(units, gains, baseline.Loss, baseline.Accuracy, Options.Metric);
    }

    /// <summary>Planned peak of the first-order pass (bytes): its session trains every tensor, at the analysis batch.</summary>
    internal long FirstOrderPeakBytes { get; private set; }

    /// <summary>Steps · η · Σ ḡ² per unit, ḡ the mean gradient of the loss over the whole proxy set (see <see cref="ContributionMetric.GradientSquared"/>).</summary>
    private double[] FirstOrderGains(Model work, IReadOnlyList<CandidateUnit> units)
    {
        // ḡ accumulates over chunks of the analysis batch (the local one): a session that trains every tensor holds every
        // activation, ~100 MB for MobileNetV2-tiny at 256 samples, and the mean is the same in chunks (GroupNorm, not
        // BatchNorm: no layer mixes samples).
        int batch = Math.Min(Options.BatchSize, _proxy.Count);
        var session = new TrainingSession(work, TrainableSet.All(work), batch, Options.EffectiveOptimizer);
        FirstOrderPeakBytes = session.Plan.PeakBytes;
        var mean = new double[work.ParameterCount];
        var indices = new int[batch];
        for (int start = 0; start < _proxy.Count; start += batch)
        {
            int count = Math.Min(batch, _proxy.Count - start);
            for (int i = 0; i < count; i++) indices[i] = start + i;
            LocalTrainer.Fill(_proxy, indices.AsSpan(0, count), session.Input, session.Labels);
            session.Backpropagate(count);
            double share = (double)count / _proxy.Count;   // each pass's gradient is of its batch's mean loss
            for (int p = 0; p < work.Parameters.Count; p++)
            {
                var g = session.Gradient(p);
                int offset = work.Parameters[p].Offset;
                for (int k = 0; k < g.Length; k++) mean[offset + k] += share * g[k];
            }
        }
        double scale = Options.Steps * Options.EffectiveOptimizer.LearningRate;
        var gains = new double[units.Count];
        for (int u = 0; u < units.Count; u++)
        {
            var p = work.Parameter(units[u].Tensor);
            double sum = 0;
            // A ratio trains the first channels (TrainableSet.RatioChannels); a channel is ChannelSize contiguous values.
            for (int k = p.Offset, end = p.Offset + units[u].Channels * p.ChannelSize; k < end; k++) sum += mean[k] * mean[k];
            // A diverging gradient (NaN or ∞) contributes nothing, as in the trained-alone measure.
            gains[u] = double.IsFinite(sum) ? scale * sum : 0;
        }
        return gains;
    }

    private static ulong Hash(ReadOnlySpan<float> weights)
    {
        ulong h = 14695981039346656037UL;
        foreach (float w in weights) { h ^= BitConverter.SingleToUInt32Bits(w); h *= 1099511628211UL; }
        return h;
    }

    private static ulong Hash(ContributionOptions o)
    {
        string text = FormattableString.Invariant($"{o.Steps}|{o.BatchSize}|{o.EffectiveOptimizer}|{o.HeldOutFraction}|{o.Metric}|{string.Join(";", o.EffectiveRatios)}|{o.Seed}");
        ulong h = 14695981039346656037UL;
        foreach (char c in text) { h ^= c; h *= 1099511628211UL; }
        return h;
    }

    /// <summary>A view of a sample source through an index list.</summary>
    private sealed class IndexedSamples(ISampleSource source, int[] indices) : ISampleSource
    {
        public int Count => indices.Length;
        public int SampleSize => source.SampleSize;
        public ReadOnlySpan<float> Sample(int index) => source.Sample(indices[index]);
        public int Label(int index) => source.Label(indices[index]);
    }
}
