using System.Diagnostics;
using System.Runtime.InteropServices;
using Ftte.Engine.Layers;
using Ftte.Engine.Planning;

namespace Ftte.Engine.Training;

/// <summary>
/// Executes a <see cref="MemoryPlan"/> on its arena: the forward pass (training or inference) and the
/// backward pass. Shared by <see cref="TrainingSession"/> and <see cref="Evaluator"/>.
/// </summary>
internal sealed class PlanRunner
{
    private readonly Model _model;
    private readonly Arena _arena;
    private readonly LayerMemory[] _memory;
    private readonly int[] _gradientOfLayerParam0;
    private readonly int[] _gradientOfLayerParam1;

    public PlanRunner(Model model, MemoryPlan plan)
    {
        _model = model;
        Plan = plan;
        _arena = new Arena(plan);
        var layers = model.Layers;
        _memory = new LayerMemory[layers.Count];
        _gradientOfLayerParam0 = new int[layers.Count];
        _gradientOfLayerParam1 = new int[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            _memory[i] = layers[i].Memory(plan.Needs[i], plan.Batch);
            var ps = layers[i].Parameters;
            _gradientOfLayerParam0[i] = ps.Count > 0 ? plan.ParameterGradientBuffers[model.IndexOf(ps[0])] : -1;
            _gradientOfLayerParam1[i] = ps.Count > 1 ? plan.ParameterGradientBuffers[model.IndexOf(ps[1])] : -1;
        }
    }

    public MemoryPlan Plan { get; }
    public Arena Arena => _arena;
    public Span<float> Input => _arena.Get(Plan.InputBuffer);
    public Span<int> Labels => MemoryMarshal.Cast<float, int>(_arena.Get(Plan.LabelsBuffer));

    /// <summary>Forward, then the loss on the logits; writes ∂L/∂logits when the last layer needs a gradient.</summary>
    public (double Loss, int Correct) ForwardAndLoss(int count)
    {
        Forward(count);
        return Loss(count);
    }

    /// <summary>The loss on the logits of the last forward pass; writes ∂L/∂logits when the last layer needs a gradient.</summary>
    public (double Loss, int Correct) Loss(int count)
    {
        int last = _model.Layers.Count - 1;
        var layout = Plan.Layout;
        int classes = _model.ClassCount;
        var logits = _arena.Get(layout[last].Output, (long)count * classes);
        var labels = MemoryMarshal.Cast<float, int>(_arena.Get(Plan.LabelsBuffer, count));
        var dLogits = _arena.Get(layout[last].Gradient, layout[last].Gradient < 0 ? 0 : (long)count * classes);
        return SoftmaxCrossEntropy.Compute(logits, labels, count, classes, dLogits);
    }

    /// <summary>The logits of the last forward pass.</summary>
    public ReadOnlySpan<float> Logits(int count) => _arena.Get(Plan.Layout[^1].Output, (long)count * _model.ClassCount);

    public Span<float> ParameterGradient(int parameter) => _arena.Get(Plan.ParameterGradientBuffers[parameter]);
    public Span<float> OptimizerState(int parameter) => _arena.Get(Plan.OptimizerStateBuffers[parameter]);

    public void Forward(int count)
    {
        ForwardStreamedPrefix(count);
        for (int i = Plan.StreamedPrefix; i < _model.Layers.Count; i++) ForwardLayer(i, count);
    }

    /// <summary>
    /// The frozen prefix (<see cref="MemoryPlan.StreamedPrefix"/>), <see cref="MemoryPlan.StreamChunk"/> samples at a time: each
    /// layer reads and writes its chunk-sized buffer, the first reads its rows of the input batch, the last writes its rows of
    /// the whole-batch boundary. Nothing when the plan streams no prefix. With <paramref name="ticks"/> (the profiler), each layer's
    /// calls over all chunks add their <see cref="Stopwatch"/> ticks to its entry.
    /// </summary>
    public void ForwardStreamedPrefix(int count, Span<long> ticks = default)
    {
        int prefix = Plan.StreamedPrefix, chunk = Plan.StreamChunk;
        var layout = Plan.Layout;
        long t = ticks.IsEmpty ? 0 : Stopwatch.GetTimestamp();
        for (int start = 0; start < count; start += chunk)
        {
            int k = Math.Min(chunk, count - start);
            for (int i = 0; i < prefix; i++)
            {
                var layer = _model.Layers[i];
                var inputs = _model.InputsOf(i);
                Span<float> Rows(int node) => node < 0
                    ? _arena.Get(Plan.InputBuffer, (long)count * _model.InputShape.Size).Slice(start * _model.InputShape.Size, k * _model.InputShape.Size)
                    : node == prefix - 1
                        ? _arena.Get(layout[node].Output, (long)count * _model.Layers[node].OutputShape.Size)
                            .Slice(start * _model.Layers[node].OutputShape.Size, k * _model.Layers[node].OutputShape.Size)
                        : _arena.Get(layout[node].Output, (long)k * _model.Layers[node].OutputShape.Size);
                var ctx = new ForwardContext
                {
                    Batch = k,
                    X = Rows(inputs[0]),
                    X2 = inputs.Length > 1 ? Rows(inputs[1]) : default,
                    Y = Rows(i),
                    Workspace = _arena.Get(layout[i].ForwardWorkspace),
                };
                layer.Forward(ctx, Plan.Needs[i]);
                if (!ticks.IsEmpty)
                {
                    long u = Stopwatch.GetTimestamp();
                    ticks[i] += u - t;
                    t = u;
                }
            }
        }
    }

    public void Backward(int count)
    {
        for (int i = _model.Layers.Count - 1; i >= 0; i--) BackwardLayer(i, count);
    }

    /// <summary>Layer i's forward call (one step of <see cref="Forward"/>). Not for a layer of the streamed prefix, which runs
    /// chunk by chunk (<see cref="ForwardStreamedPrefix"/>).</summary>
    public void ForwardLayer(int i, int count)
    {
        if (i < Plan.StreamedPrefix)
            throw new InvalidOperationException($"Layer {_model.Layers[i].Name} is in the streamed frozen prefix; run the prefix with ForwardStreamedPrefix.");
        var layout = Plan.Layout;
        var layer = _model.Layers[i];
        var inputs = _model.InputsOf(i);
        var ctx = new ForwardContext
        {
            Batch = count,
            X = Activation(inputs[0], count),
            X2 = inputs.Length > 1 ? Activation(inputs[1], count) : default,
            Y = _arena.Get(layout[i].Output, (long)count * layer.OutputShape.Size),
            Saved = _arena.Get(layout[i].Saved),
            Workspace = _arena.Get(layout[i].ForwardWorkspace),
        };
        layer.Forward(ctx, Plan.Needs[i]);
    }

    /// <summary>Layer i's backward call, nothing when it has no gradient to compute (one step of <see cref="Backward"/>).</summary>
    public void BackwardLayer(int i, int count)
    {
        var layout = Plan.Layout;
        var needs = Plan.Needs[i];
        if (!needs.Backward) return;
        var layer = _model.Layers[i];
        var inputs = _model.InputsOf(i);
        bool overwrite = layer.CanOverwriteInputGradient && inputs.Length == 1 && inputs[0] >= 0 && needs.InputGrad()
                         && layout[inputs[0]].FirstGradientWriter == i;
        var ctx = new BackwardContext
        {
            Batch = count,
            X = _memory[i].KeepInputs ? Activation(inputs[0], count) : default,
            X2 = _memory[i].KeepInputs && inputs.Length > 1 ? Activation(inputs[1], count) : default,
            Y = _memory[i].KeepOutput ? _arena.Get(layout[i].Output, (long)count * layer.OutputShape.Size) : default,
            Dy = _arena.Get(layout[i].Gradient, (long)count * layer.OutputShape.Size),
            Dx = InputGradient(i, inputs, 0, count, clear: !overwrite),
            OverwriteDx = overwrite,
            Dx2 = inputs.Length > 1 ? InputGradient(i, inputs, 1, count, clear: true) : default,
            Saved = _arena.Get(layout[i].Saved),
            Workspace = _arena.Get(layout[i].BackwardWorkspace),
            Grad0 = _arena.Get(_gradientOfLayerParam0[i]),
            Grad1 = _arena.Get(_gradientOfLayerParam1[i]),
        };
        layer.Backward(ctx, needs);
    }

    private Span<float> Activation(int node, int count) => node < 0
        ? _arena.Get(Plan.InputBuffer, (long)count * _model.InputShape.Size)
        : _arena.Get(Plan.Layout[node].Output, (long)count * _model.Layers[node].OutputShape.Size);

    /// <summary>
    /// The gradient buffer of input k of layer i, cleared when layer i is its first writer (layers accumulate) unless the layer
    /// overwrites it (<paramref name="clear"/> false).
    /// </summary>
    private Span<float> InputGradient(int layer, ReadOnlySpan<int> inputs, int k, int count, bool clear)
    {
        int source = inputs[k];
        if (source < 0 || !Plan.Needs[layer].InputGrad(k)) return default;
        var span = _arena.Get(Plan.Layout[source].Gradient, (long)count * _model.Layers[source].OutputShape.Size);
        if (clear && Plan.Layout[source].FirstGradientWriter == layer) span.Clear();
        return span;
    }
}
