using Ftte.Engine.Layers;

namespace Ftte.Engine;

/// <summary>A value flowing between layers while a model is built: the producing node and its per-sample shape.</summary>
public readonly record struct NodeRef(int Index, Shape Shape);

/// <summary>
/// Builds a model from code: each call adds one layer fed by earlier nodes and returns its output.
/// <code>
/// var b = new ModelBuilder("lenet", new Shape(1, 28, 28));
/// var x = b.Conv2d(b.Input, 8, kernel: 3, padding: 1, name: "conv1");
/// ...
/// Model m = b.Build(x, seed: 1);
/// </code>
/// </summary>
public sealed class ModelBuilder
{
    private readonly List<Layer> _layers = [];
    private readonly List<int[]> _inputs = [];
    private readonly Dictionary<string, int> _kindCounters = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public ModelBuilder(string name, Shape inputShape)
    {
        Name = name;
        InputShape = inputShape;
        Input = new NodeRef(-1, inputShape);
    }

    public string Name { get; }
    public Shape InputShape { get; }
    public NodeRef Input { get; }

    /// <summary>Adds a layer built by <paramref name="create"/> from a unique name and the input shapes.</summary>
    public NodeRef Add(string kind, string? name, Func<string, Shape[], Layer> create, params NodeRef[] inputs)
    {
        foreach (var input in inputs)
            if (input.Index < -1 || input.Index >= _layers.Count)
                throw new ArgumentException($"Input node {input.Index} does not exist in model '{Name}' (nodes 0..{_layers.Count - 1}, -1 = model input).");
        string layerName = name ?? NextName(kind);
        if (!_names.Add(layerName))
            throw new ArgumentException($"Model '{Name}' already has a layer named '{layerName}'; layer names must be unique.");
        var layer = create(layerName, inputs.Select(i => i.Shape).ToArray());
        _layers.Add(layer);
        _inputs.Add(inputs.Select(i => i.Index).ToArray());
        return new NodeRef(_layers.Count - 1, layer.OutputShape);
    }

    /// <summary>Name of the layer producing <paramref name="node"/> ("input" for the model input).</summary>
    public string NameOf(NodeRef node) => node.Index < 0 ? "input" : _layers[node.Index].Name;

    private string NextName(string kind)
    {
        string name;
        do
        {
            int n = _kindCounters.GetValueOrDefault(kind) + 1;
            _kindCounters[kind] = n;
            name = kind + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        } while (_names.Contains(name));
        return name;
    }

    public NodeRef Linear(NodeRef x, int outFeatures, string? name = null, bool bias = true) =>
        Add("linear", name, (n, s) => new Linear(n, s[0], outFeatures, bias), x);

    public NodeRef Relu(NodeRef x, string? name = null) => Add("relu", name, (n, s) => new Activation(n, s[0], ActivationKind.Relu), x);

    public NodeRef Relu6(NodeRef x, string? name = null) => Add("relu6", name, (n, s) => new Activation(n, s[0], ActivationKind.Relu6), x);

    public NodeRef Flatten(NodeRef x, string? name = null) => Add("flatten", name, (n, s) => new Flatten(n, s[0]), x);

    public NodeRef Conv2d(NodeRef x, int outChannels, int kernel, int stride = 1, int padding = 0, int groups = 1, bool bias = true, string? name = null) =>
        Add("conv2d", name, (n, s) => new Conv2d(n, s[0], outChannels, kernel, stride, padding, groups, bias), x);

    public NodeRef MaxPool2d(NodeRef x, int kernel, int? stride = null, string? name = null) =>
        Add("maxpool2d", name, (n, s) => new MaxPool2d(n, s[0], kernel, stride ?? kernel), x);

    public NodeRef AvgPool2d(NodeRef x, int kernel, int? stride = null, string? name = null) =>
        Add("avgpool2d", name, (n, s) => new AvgPool2d(n, s[0], kernel, stride ?? kernel), x);

    public NodeRef GlobalAvgPool(NodeRef x, string? name = null) => Add("globalavgpool", name, (n, s) => new GlobalAvgPool(n, s[0]), x);

    public NodeRef GroupNorm(NodeRef x, int groups, string? name = null) => Add("groupnorm", name, (n, s) => new GroupNorm(n, s[0], groups), x);

    /// <summary>Residual add of two same-shaped values.</summary>
    public NodeRef Add(NodeRef a, NodeRef b, string? name = null) => Add("add", name, (n, s) => new Add(n, s[0], s[1]), a, b);

    /// <summary>Finishes the model; <paramref name="output"/> must be the last node added (its output is the logits).</summary>
    public Model Build(NodeRef output, ulong seed)
    {
        if (_layers.Count == 0) throw new InvalidOperationException($"Model '{Name}' has no layers.");
        if (output.Index != _layers.Count - 1)
            throw new InvalidOperationException($"Model '{Name}': the output must be the last layer added (node {_layers.Count - 1}), not node {output.Index}.");
        var model = new Model(Name, InputShape, [.. _layers], [.. _inputs]);
        model.Initialize(seed);
        return model;
    }
}
