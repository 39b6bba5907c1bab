using Ftte.Core;
using Ftte.Engine.Layers;

namespace Ftte.Engine;

/// <summary>
/// A model: layers in topological order (a small DAG, so residual blocks are plain Add nodes), and one
/// contiguous block holding every parameter tensor. The last layer's output is the logits.
/// A model is not thread-safe: parallel trainers each use their own <see cref="Clone"/>.
/// </summary>
public sealed class Model
{
    private readonly Layer[] _layers;
    private readonly int[][] _inputs;
    private readonly Parameter[] _parameters;
    private readonly Dictionary<string, int> _parameterIndex;
    private readonly float[] _weights;

    internal Model(string name, Shape inputShape, Layer[] layers, int[][] inputs)
    {
        Name = name;
        InputShape = inputShape;
        _layers = layers;
        _inputs = inputs;
        _parameters = layers.SelectMany(l => l.Parameters).ToArray();
        _parameterIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        int offset = 0;
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (!_parameterIndex.TryAdd(_parameters[i].Name, i))
                throw new ArgumentException($"Model '{name}' has two parameters named '{_parameters[i].Name}'; layer names must be unique.");
            offset += _parameters[i].Count;
        }
        _weights = new float[offset];
        offset = 0;
        foreach (var p in _parameters)
        {
            p.Bind(_weights, offset);
            offset += p.Count;
        }
    }

    public string Name { get; }
    public Shape InputShape { get; }
    public Shape OutputShape => _layers[^1].OutputShape;
    public int ClassCount => OutputShape.Size;
    public IReadOnlyList<Layer> Layers => _layers;
    public IReadOnlyList<Parameter> Parameters => _parameters;
    public int ParameterCount => _weights.Length;
    public long ParameterBytes => (long)_weights.Length * sizeof(float);

    /// <summary>All parameters, in <see cref="Parameters"/> order, as one vector (what FedAvg averages).</summary>
    public Span<float> Weights => _weights;

    /// <summary>Input node indices of layer i; -1 is the model input.</summary>
    internal ReadOnlySpan<int> InputsOf(int layer) => _inputs[layer];

    public Parameter Parameter(string name) =>
        TryGetParameter(name, out var p) ? p : throw new KeyNotFoundException($"Model '{Name}' has no parameter '{name}'. Known: {string.Join(", ", _parameters.Select(q => q.Name))}.");

    public bool TryGetParameter(string name, out Parameter parameter)
    {
        if (_parameterIndex.TryGetValue(name, out int i)) { parameter = _parameters[i]; return true; }
        parameter = null!;
        return false;
    }

    internal int IndexOf(Parameter p) => _parameterIndex[p.Name];

    /// <summary>Forward FLOPs per sample of the whole model.</summary>
    public long ForwardFlops => _layers.Sum(l => l.ForwardFlops);

    /// <summary>Re-draws every parameter from the seed; each tensor has its own stream, so adding a layer does not change the others.</summary>
    public void Initialize(ulong seed)
    {
        foreach (var layer in _layers)
            layer.Initialize(Rng.ForStream(seed, StableHash(layer.Name)));
    }

    /// <summary>A structurally identical model with a copy of the weights.</summary>
    public Model Clone()
    {
        var copy = ModelDescription.Build(Describe());
        _weights.CopyTo(copy._weights, 0);
        return copy;
    }

    public ModelDescription Describe() => ModelDescription.From(this);

    /// <summary>FNV-1a over the UTF-16 code units: stable across processes (string.GetHashCode is not).</summary>
    internal static ulong StableHash(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return h;
    }

    public override string ToString() => $"{Name}: {InputShape} → {OutputShape}, {_layers.Length} layers, {ParameterCount:N0} parameters";
}
