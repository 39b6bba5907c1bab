using Ftte.Core;

namespace Ftte.Engine.Layers;

/// <summary>
/// A node of a model: a forward/backward pair with its parameters, its exact memory needs and its
/// FLOP count. Layers never allocate: the training session hands them spans cut from one arena at the
/// offsets the memory planner chose, so what a layer declares in <see cref="Memory"/> is exactly what
/// it gets (and a layer asking for more fails loudly).
/// Batch-major NCHW: a tensor of a batch is B × <see cref="OutputShape"/>.Size floats.
/// </summary>
public abstract class Layer
{
    private readonly List<Parameter> _parameters = [];

    protected Layer(string name, IReadOnlyList<Shape> inputShapes, Shape outputShape)
    {
        Name = name;
        InputShapes = inputShapes;
        OutputShape = outputShape;
    }

    public string Name { get; }
    /// <summary>Short type name as written in model JSON ("conv2d").</summary>
    public abstract string Kind { get; }
    public IReadOnlyList<Shape> InputShapes { get; }
    public Shape InputShape => InputShapes[0];
    public Shape OutputShape { get; }
    public IReadOnlyList<Parameter> Parameters => _parameters;

    protected Parameter AddParameter(string suffix, Shape shape, ParameterRole role, int fanIn)
    {
        var p = new Parameter($"{Name}.{suffix}", shape, role, fanIn);
        _parameters.Add(p);
        return p;
    }

    /// <summary>Seeded initialisation; the default matches PyTorch's Linear/Conv default U(±1/√fan_in) for every tensor.</summary>
    internal virtual void Initialize(Rng rng)
    {
        foreach (var p in _parameters)
        {
            float bound = 1f / MathF.Sqrt(p.FanIn);
            var data = p.Data;
            for (int i = 0; i < data.Length; i++) data[i] = rng.Uniform(-bound, bound);
        }
    }

    /// <summary>Forward FLOPs for one sample (a multiply-add counts 2, an element-wise op 1).</summary>
    public abstract long ForwardFlops { get; }

    /// <summary>Backward FLOPs for one sample given what must be computed (input gradient, which channels' weight gradients).</summary>
    public abstract long BackwardFlops(in LayerNeeds needs);

    /// <summary>What this layer keeps from forward to backward and the scratch it needs, for a batch.</summary>
    internal abstract LayerMemory Memory(in LayerNeeds needs, int batch);

    internal abstract void Forward(in ForwardContext ctx, in LayerNeeds needs);

    /// <summary>
    /// Accumulates (+=) input gradients into ctx.Dx / ctx.Dx2 — or, when <see cref="BackwardContext.OverwriteDx"/>, writes
    /// every element of ctx.Dx — and overwrites parameter gradients.
    /// </summary>
    internal abstract void Backward(in BackwardContext ctx, in LayerNeeds needs);

    /// <summary>
    /// Whether <see cref="Backward"/> honours <see cref="BackwardContext.OverwriteDx"/> for its single input. When the layer is
    /// the first to write that gradient, the runner then skips clearing it: one pass over the buffer saved, and the layer's
    /// own pass writes instead of read-modify-writes (ReLU, flatten, linear).
    /// </summary>
    internal virtual bool CanOverwriteInputGradient => false;

    /// <summary>
    /// Element-wise with one input: output element k reads only input element k, and the input gradient's element k only the
    /// output gradient's element k (and what the layer saved). The planner may then give the output the input's buffer when
    /// nothing reads the input afterwards, and the input gradient the output gradient's buffer when this layer writes it first
    /// — in-place ReLU, as in PyTorch's ReLU(inplace=True) and TFLite's arena reuse.
    /// </summary>
    internal virtual bool InPlace => false;

    /// <summary>Options for the JSON description (everything but kind, name and inputs).</summary>
    internal abstract IEnumerable<KeyValuePair<string, object>> DescribeOptions();

    public override string ToString() => $"{Name} ({Kind}) {string.Join("+", InputShapes)} → {OutputShape}";
}

/// <summary>
/// What a backward pass must produce at one layer, fixed for a training session.
/// Selections are aligned with <see cref="Layer.Parameters"/>; null means frozen.
/// </summary>
public readonly struct LayerNeeds
{
    private readonly ChannelSelection?[]? _selections;

    internal LayerNeeds(bool training, bool backward, int inputGradMask, ChannelSelection?[]? selections)
    {
        Training = training;
        Backward = backward;
        InputGradMask = inputGradMask;
        _selections = selections;
    }

    /// <summary>Forward runs as part of training (keeps what backward needs).</summary>
    public bool Training { get; }
    /// <summary>Backward runs at this layer at all.</summary>
    public bool Backward { get; }
    /// <summary>Bit i set: the gradient with respect to input i is needed.</summary>
    public int InputGradMask { get; }
    public bool InputGrad(int input = 0) => (InputGradMask & (1 << input)) != 0;
    public ChannelSelection? Selection(int parameter) => _selections is null || parameter >= _selections.Length ? null : _selections[parameter];
    public bool Trains(int parameter) => Selection(parameter) is not null;

    public static LayerNeeds Inference => new(false, false, 0, null);
}

/// <summary>A layer's memory declaration, in floats (4 bytes each; integer indices are stored as 4-byte ints).</summary>
internal readonly record struct LayerMemory(
    bool KeepInputs = false,
    bool KeepOutput = false,
    long SavedFloats = 0,
    long ForwardWorkspaceFloats = 0,
    long BackwardWorkspaceFloats = 0);

/// <summary>Spans for one layer's forward call. Lengths are for the current batch.</summary>
internal readonly ref struct ForwardContext
{
    public int Batch { get; init; }
    public ReadOnlySpan<float> X { get; init; }
    public ReadOnlySpan<float> X2 { get; init; }
    public Span<float> Y { get; init; }
    /// <summary>Planned saved-for-backward buffer (empty unless <see cref="LayerMemory.SavedFloats"/> &gt; 0 and training).</summary>
    public Span<float> Saved { get; init; }
    public Span<float> Workspace { get; init; }
}

/// <summary>Spans for one layer's backward call.</summary>
internal readonly ref struct BackwardContext
{
    public int Batch { get; init; }
    /// <summary>The inputs, present when the layer declared <see cref="LayerMemory.KeepInputs"/>.</summary>
    public ReadOnlySpan<float> X { get; init; }
    public ReadOnlySpan<float> X2 { get; init; }
    /// <summary>The output, present when the layer declared <see cref="LayerMemory.KeepOutput"/>.</summary>
    public ReadOnlySpan<float> Y { get; init; }
    public ReadOnlySpan<float> Dy { get; init; }
    /// <summary>Input gradients to accumulate into (+=); empty when not needed.</summary>
    public Span<float> Dx { get; init; }
    /// <summary>
    /// Dx (the first input's gradient) was not cleared and holds stale values: write every element instead of adding.
    /// Set only for layers with <see cref="Layer.CanOverwriteInputGradient"/> that are the first writer of that gradient.
    /// </summary>
    public bool OverwriteDx { get; init; }
    public Span<float> Dx2 { get; init; }
    public ReadOnlySpan<float> Saved { get; init; }
    public Span<float> Workspace { get; init; }
    /// <summary>Compact gradients of parameters 0 and 1 (selected channels only, in selection order); empty when frozen.</summary>
    public Span<float> Grad0 { get; init; }
    public Span<float> Grad1 { get; init; }
}
