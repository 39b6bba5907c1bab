using System.Globalization;

namespace Ftte.Engine;

/// <summary>How one parameter tensor trains.</summary>
public enum TrainingMode { Frozen, Full, ChannelRatio, ChannelList }

/// <summary>One tensor's rule: frozen, full, the first ⌈r·C⌉ output channels, or an explicit channel list.</summary>
public sealed record TensorTraining(TrainingMode Mode, double Ratio = 1.0, IReadOnlyList<int>? Channels = null)
{
    public static readonly TensorTraining Frozen = new(TrainingMode.Frozen);
    public static readonly TensorTraining Full = new(TrainingMode.Full);
    /// <summary>Ratios used by sparse-update search (Lin et al. 2022): 1/8, 1/4, 1/2, 1.</summary>
    public static readonly double[] StandardRatios = [0.125, 0.25, 0.5, 1.0];
    public static TensorTraining OfRatio(double r) => new(TrainingMode.ChannelRatio, r);
    public static TensorTraining OfChannels(params int[] channels) => new(TrainingMode.ChannelList, 1.0, channels);

    public override string ToString() => Mode switch
    {
        TrainingMode.Frozen => "frozen",
        TrainingMode.Full => "full",
        TrainingMode.ChannelRatio => Ratio.ToString("0.###", CultureInfo.InvariantCulture),
        _ => "[" + string.Join(";", Channels ?? []) + "]",
    };
}

/// <summary>
/// Which parameters train, per tensor. Anything not named is frozen: frozen tensors get no gradient,
/// no optimizer state, stay bit-identical, and backward stops below the lowest layer that needs a
/// gradient (TinyTL, Cai et al. 2020: activations, not weights, are the training memory bottleneck).
/// </summary>
public sealed class TrainableSet
{
    private readonly Dictionary<string, TensorTraining> _rules;

    public TrainableSet(IReadOnlyDictionary<string, TensorTraining> rules)
    {
        _rules = new Dictionary<string, TensorTraining>(rules, StringComparer.Ordinal);
    }

    public IReadOnlyDictionary<string, TensorTraining> Rules => _rules;

    public TensorTraining For(string parameterName) => _rules.GetValueOrDefault(parameterName, TensorTraining.Frozen);

    public static TrainableSet None { get; } = new(new Dictionary<string, TensorTraining>());

    public static TrainableSet All(Model model) => Where(model, _ => true);

    /// <summary>Biases (and norm shifts) only: no activations are stored for weight gradients (TinyTL).</summary>
    public static TrainableSet BiasOnly(Model model) =>
        Where(model, p => p.Role is ParameterRole.Bias or ParameterRole.NormShift);

    /// <summary>All parameters of the last <paramref name="layers"/> layers that have parameters.</summary>
    public static TrainableSet LastLayers(Model model, int layers)
    {
        if (layers < 0) throw new ArgumentOutOfRangeException(nameof(layers), layers, "The number of layers cannot be negative.");
        var parametric = model.Layers.Where(l => l.Parameters.Count > 0).ToList();
        var chosen = parametric.Skip(Math.Max(0, parametric.Count - layers)).SelectMany(l => l.Parameters).Select(p => p.Name).ToHashSet();
        return Where(model, p => chosen.Contains(p.Name));
    }

    private static TrainableSet Where(Model model, Func<Parameter, bool> predicate) =>
        new(model.Parameters.Where(predicate).ToDictionary(p => p.Name, _ => TensorTraining.Full));

    /// <summary>
    /// Parses the command-line form: a preset (<c>all</c>, <c>none</c>, <c>bias</c>, <c>last:K</c>) or a
    /// comma list of <c>NAME[=RULE]</c> where NAME is a tensor ("conv2.weight"), a layer ("conv2", all its
    /// tensors) or a block prefix ("block2": every layer named block2.*) and RULE is <c>full</c> (default), <c>frozen</c>, <c>bias</c> (layer only), a ratio
    /// (<c>1/4</c> or <c>0.25</c>), or channels <c>c0;c3;c7</c>. Items combine: "conv2=1/4,fc1.bias".
    /// </summary>
    public static TrainableSet Parse(Model model, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        switch (t)
        {
            case "all" or "full": return All(model);
            case "none" or "frozen" or "": return None;
            case "bias" or "bias-only": return BiasOnly(model);
        }
        if (t.StartsWith("last:", StringComparison.Ordinal))
        {
            if (!int.TryParse(t.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int k))
                throw new FormatException($"Trainable set '{text}': 'last:K' needs a whole number of layers, e.g. last:2.");
            return LastLayers(model, k);
        }

        var rules = new Dictionary<string, TensorTraining>(StringComparer.Ordinal);
        foreach (string rawItem in t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = rawItem.IndexOf('=');
            string name = eq < 0 ? rawItem : rawItem[..eq].Trim();
            string rule = eq < 0 ? "full" : rawItem[(eq + 1)..].Trim();
            if (model.TryGetParameter(name, out var single))
            {
                rules[single.Name] = ParseRule(text, name, rule);
                continue;
            }
            // A layer ("conv2") or a block of layers sharing a prefix ("block2" → block2.expand, block2.dw, …).
            var parameters = model.Layers.Where(l => l.Name == name || l.Name.StartsWith(name + ".", StringComparison.Ordinal))
                                         .SelectMany(l => l.Parameters).ToList();
            if (parameters.Count == 0)
                throw new FormatException($"Trainable set '{text}': '{name}' is not a parameter, a layer with parameters or a block of model '{model.Name}'. " +
                                          $"Known: {string.Join(", ", model.Parameters.Select(p => p.Name))}.");
            if (rule == "bias")
            {
                foreach (var p in parameters)
                    rules[p.Name] = p.Role is ParameterRole.Bias or ParameterRole.NormShift ? TensorTraining.Full : TensorTraining.Frozen;
                continue;
            }
            var parsed = ParseRule(text, name, rule);
            foreach (var p in parameters) rules[p.Name] = parsed;
        }
        return new TrainableSet(rules);
    }

    private static TensorTraining ParseRule(string text, string name, string rule)
    {
        if (rule is "full" or "1") return TensorTraining.Full;
        if (rule == "frozen") return TensorTraining.Frozen;
        int slash = rule.IndexOf('/');
        if (slash > 0 && double.TryParse(rule[..slash], NumberStyles.Float, CultureInfo.InvariantCulture, out double num)
                      && double.TryParse(rule[(slash + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double den) && den > 0)
            return TensorTraining.OfRatio(num / den);
        if (rule.Contains(';') || rule.StartsWith('c'))
        {
            var channels = new List<int>();
            foreach (string c in rule.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                string digits = c.StartsWith('c') ? c[1..] : c;
                if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int ch))
                    throw new FormatException($"Trainable set '{text}': channel '{c}' of '{name}' is not a channel number (write c0;c3;c7).");
                channels.Add(ch);
            }
            return TensorTraining.OfChannels([.. channels]);
        }
        if (double.TryParse(rule, NumberStyles.Float, CultureInfo.InvariantCulture, out double r)) return TensorTraining.OfRatio(r);
        throw new FormatException($"Trainable set '{text}': rule '{rule}' for '{name}' is not one of full, frozen, bias, a ratio like 1/4, or channels like c0;c3.");
    }

    /// <summary>Resolves the rules against a model: one selection per parameter, null when frozen.</summary>
    internal ChannelSelection?[] Resolve(Model model)
    {
        foreach (string name in _rules.Keys)
            if (!model.TryGetParameter(name, out _))
                throw new ArgumentException($"Trainable set names '{name}', which model '{model.Name}' does not have. Known: {string.Join(", ", model.Parameters.Select(p => p.Name))}.");

        var result = new ChannelSelection?[model.Parameters.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var p = model.Parameters[i];
            var rule = For(p.Name);
            int[]? channels = rule.Mode switch
            {
                TrainingMode.Frozen => null,
                TrainingMode.Full => Range(p.OutputChannels),
                TrainingMode.ChannelRatio => Range(RatioChannels(p, rule.Ratio)),
                _ => ValidateList(p, rule.Channels ?? []),
            };
            result[i] = channels is null || channels.Length == 0 ? null : new ChannelSelection(p, channels);
        }
        return result;
    }

    /// <summary>
    /// The trained coordinates as runs of the model's flat <see cref="Model.Weights"/> vector, in order,
    /// adjacent runs merged. Aggregation and update codecs work on these runs: a partial update carries
    /// exactly these coordinates and nothing else.
    /// </summary>
    public WeightRange[] Ranges(Model model)
    {
        var ranges = new List<WeightRange>();
        foreach (var selection in Resolve(model))
        {
            if (selection is null) continue;
            var p = selection.Parameter;
            foreach (int c in selection.Channels)
            {
                int start = p.Offset + c * p.ChannelSize;
                if (ranges.Count > 0 && ranges[^1].End == start)
                    ranges[^1] = ranges[^1] with { Length = ranges[^1].Length + p.ChannelSize };
                else
                    ranges.Add(new WeightRange(start, p.ChannelSize));
            }
        }
        return [.. ranges];
    }

    /// <summary>Number of trained coordinates.</summary>
    public int CountTrained(Model model) => Resolve(model).Sum(s => s?.Elements ?? 0);

    /// <summary>⌈r·C⌉ output channels, at least one: the first channels, as in Lin et al. 2022's channel ratios.</summary>
    public static int RatioChannels(Parameter p, double ratio)
    {
        if (!(ratio > 0 && ratio <= 1))
            throw new ArgumentOutOfRangeException(nameof(ratio), ratio, $"Channel ratio for '{p.Name}' must be in (0, 1], e.g. 1/8, 1/4, 1/2 or 1.");
        return Math.Max(1, (int)Math.Ceiling(ratio * p.OutputChannels - 1e-9));
    }

    private static int[] Range(int n)
    {
        var r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }

    private static int[] ValidateList(Parameter p, IReadOnlyList<int> channels)
    {
        var sorted = channels.Distinct().Order().ToArray();
        if (sorted.Length > 0 && (sorted[0] < 0 || sorted[^1] >= p.OutputChannels))
            throw new ArgumentOutOfRangeException(nameof(channels), $"Channel list for '{p.Name}' must lie in [0, {p.OutputChannels - 1}]; got {string.Join(";", channels)}.");
        return sorted;
    }

    public override string ToString() =>
        _rules.Count == 0 ? "none" : string.Join(",", _rules.Where(kv => kv.Value.Mode != TrainingMode.Frozen).Select(kv => $"{kv.Key}={kv.Value}"));
}
