using Ftte.Core;
using Ftte.Engine.Layers;

// Not Ftte.Engine.Tests.Layers: that namespace would shadow Ftte.Engine.Layers wherever tests write "Layers.Conv2d" (Models/ModelTests.cs).
namespace Ftte.Engine.Tests.LayersTests;

/// <summary>
/// Checks a layer's backward pass against central finite differences of the scalar loss
/// L = Σ y ⊙ r (r fixed and random, so ∂L/∂y = r), summed in double.
/// The layer is driven exactly as the plan runner drives it: every buffer is a span of exactly the
/// length the layer declared in <see cref="Layer.Memory"/> (so an under-declared workspace throws),
/// workspaces, saved buffers, outputs and parameter gradients start as NaN (so reading anything not
/// written first poisons the result), the input is passed to backward only when the layer kept it,
/// and input gradients start non-zero (so backward must accumulate, not overwrite).
/// </summary>
internal sealed class GradientChecker
{
    private readonly Layer _layer;
    private readonly LayerNeeds _needs;
    private readonly LayerMemory _memory;
    private readonly int _batch;
    private readonly float[][] _inputs;
    private readonly float[] _r;

    /// <param name="selections">Per parameter, the trained channels; null entries (or a null array) are frozen.</param>
    /// <param name="inputs">One array of batch × input size per layer input; uniform in [−1, 1] when null.</param>
    /// <param name="plannedBatch">Batch the memory is declared for; the check runs with <paramref name="batch"/> ≤ it.</param>
    public GradientChecker(Layer layer, ChannelSelection?[]? selections, int inputGradMask, int batch = 2, int? plannedBatch = null,
                           float[][]? inputs = null, ulong seed = 1)
    {
        var rng = new Rng(seed);
        _layer = layer;
        _batch = batch;
        BindRandomParameters(layer, rng);
        _inputs = inputs ?? layer.InputShapes.Select(s => Uniform(rng, batch * s.Size, -1f, 1f)).ToArray();
        _r = Uniform(rng, batch * layer.OutputShape.Size, -1f, 1f);
        _needs = new LayerNeeds(training: true, backward: true, inputGradMask, selections);
        _memory = layer.Memory(_needs, plannedBatch ?? batch);
    }

    public LayerMemory Memory => _memory;

    /// <summary>Central-difference step; a layer linear in the perturbed value is exact for any step, so larger steps only cut rounding.</summary>
    public double Step { get; init; } = 1e-2;
    public double AbsoluteTolerance { get; init; } = 1e-3;
    public double RelativeTolerance { get; init; } = 1e-2;

    /// <summary>Runs forward and backward once, then compares every input gradient and every selected parameter gradient element.</summary>
    public void Check()
    {
        var (dx, grads) = Analytic();
        for (int k = 0; k < _inputs.Length; k++)
        {
            if (!_needs.InputGrad(k)) continue;
            var numeric = new double[_inputs[k].Length];
            for (int i = 0; i < numeric.Length; i++) numeric[i] = Numeric(_inputs[k], i);
            Compare($"input {k}", dx[k]!, numeric);
        }
        for (int p = 0; p < _layer.Parameters.Count; p++)
        {
            if (_needs.Selection(p) is not { } selection) continue;
            var parameter = _layer.Parameters[p];
            int channelSize = parameter.ChannelSize;
            var numeric = new double[selection.Elements];
            for (int j = 0; j < selection.Count; j++)
                for (int e = 0; e < channelSize; e++)
                    numeric[j * channelSize + e] = Numeric(parameter.Data, selection.Channels[j] * channelSize + e);
            Compare(parameter.Name, grads[p]!, numeric);
        }
    }

    /// <summary>Input gradients (what backward added to a random starting value) and compact parameter gradients.</summary>
    public (float[]?[] InputGradients, float[]?[] ParameterGradients) Analytic()
    {
        var saved = Filled(_memory.SavedFloats, float.NaN);
        var y = Forward(saved);
        var rng = new Rng(99);
        var dxStart = new float[]?[_inputs.Length];
        var dx = new float[]?[_inputs.Length];
        for (int k = 0; k < _inputs.Length; k++)
        {
            if (!_needs.InputGrad(k)) continue;
            dxStart[k] = Uniform(rng, _inputs[k].Length, -1f, 1f);
            dx[k] = (float[])dxStart[k]!.Clone();
        }
        var grads = new float[]?[Math.Max(2, _layer.Parameters.Count)];
        for (int p = 0; p < _layer.Parameters.Count; p++)
            if (_needs.Selection(p) is { } s) grads[p] = Filled(s.Elements, float.NaN);

        var ctx = new BackwardContext
        {
            Batch = _batch,
            X = _memory.KeepInputs ? _inputs[0] : default,
            X2 = _memory.KeepInputs && _inputs.Length > 1 ? _inputs[1] : default,
            Y = _memory.KeepOutput ? y : default,
            Dy = _r,
            Dx = dx[0],
            Dx2 = dx.Length > 1 ? dx[1] : default,
            Saved = saved,
            Workspace = Filled(_memory.BackwardWorkspaceFloats, float.NaN),
            Grad0 = grads[0],
            Grad1 = grads[1],
        };
        _layer.Backward(ctx, _needs);

        for (int k = 0; k < dx.Length; k++)
            if (dx[k] is { } d)
                for (int i = 0; i < d.Length; i++) d[i] -= dxStart[k]![i];
        return (dx, grads);
    }

    /// <summary>Managed bytes allocated by <paramref name="repeats"/> forward + backward passes after one warm-up pass, all buffers made beforehand.</summary>
    public long AllocatedBytes(int repeats)
    {
        var saved = new float[_memory.SavedFloats];
        var y = new float[_batch * _layer.OutputShape.Size];
        var forwardWorkspace = new float[_memory.ForwardWorkspaceFloats];
        var backwardWorkspace = new float[_memory.BackwardWorkspaceFloats];
        var dx = _inputs.Select((x, k) => _needs.InputGrad(k) ? new float[x.Length] : []).ToArray();
        var grads = new float[Math.Max(2, _layer.Parameters.Count)][];
        for (int p = 0; p < grads.Length; p++) grads[p] = _needs.Selection(p) is { } s ? new float[s.Elements] : [];

        void Pass()
        {
            _layer.Forward(new ForwardContext
            {
                Batch = _batch, X = _inputs[0], X2 = _inputs.Length > 1 ? _inputs[1] : default,
                Y = y, Saved = saved, Workspace = forwardWorkspace,
            }, _needs);
            _layer.Backward(new BackwardContext
            {
                Batch = _batch, X = _inputs[0], X2 = _inputs.Length > 1 ? _inputs[1] : default, Y = y, Dy = _r,
                Dx = dx[0], Dx2 = dx.Length > 1 ? dx[1] : default, Saved = saved, Workspace = backwardWorkspace,
                Grad0 = grads[0], Grad1 = grads[1],
            }, _needs);
        }

        Pass();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < repeats; i++) Pass();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private float[] Forward(float[] saved)
    {
        var y = Filled(_batch * _layer.OutputShape.Size, float.NaN);
        var ctx = new ForwardContext
        {
            Batch = _batch,
            X = _inputs[0],
            X2 = _inputs.Length > 1 ? _inputs[1] : default,
            Y = y,
            Saved = saved,
            Workspace = Filled(_memory.ForwardWorkspaceFloats, float.NaN),
        };
        _layer.Forward(ctx, _needs);
        return y;
    }

    private double Loss()
    {
        var y = Forward(Filled(_memory.SavedFloats, float.NaN));
        double loss = 0;
        for (int i = 0; i < y.Length; i++) loss += (double)y[i] * _r[i];
        return loss;
    }

    /// <summary>∂L/∂v[i] by central differences, dividing by the step actually taken in float.</summary>
    private double Numeric(Span<float> values, int i)
    {
        float original = values[i];
        float plus = (float)(original + Step), minus = (float)(original - Step);
        values[i] = plus;
        double lossPlus = Loss();
        values[i] = minus;
        double lossMinus = Loss();
        values[i] = original;
        return (lossPlus - lossMinus) / ((double)plus - minus);
    }

    private void Compare(string what, float[] analytic, double[] numeric)
    {
        Assert.Equal(numeric.Length, analytic.Length);
        double largest = 0;
        for (int i = 0; i < numeric.Length; i++)
        {
            double a = analytic[i], n = numeric[i];
            largest = Math.Max(largest, Math.Abs(n));
            double allowed = AbsoluteTolerance + RelativeTolerance * Math.Max(Math.Abs(a), Math.Abs(n));
            Assert.True(Math.Abs(a - n) <= allowed,
                $"{_layer.Name} ∂L/∂{what}[{i}]: backward gave {a:G6}, finite differences {n:G6} (allowed error {allowed:G3}).");
        }
        // A gradient that is zero everywhere would pass trivially; the random loss must reach every checked tensor.
        Assert.True(largest > 10 * AbsoluteTolerance, $"{_layer.Name} ∂L/∂{what} is ~0 everywhere; the check proves nothing.");
    }

    // ---- Helpers shared by the layer tests ----

    /// <summary>Gives every parameter its own storage, filled uniformly in [−1, 1] (not the layer's initialisation, so γ ≠ 1 and β ≠ 0 are exercised).</summary>
    public static void BindRandomParameters(Layer layer, Rng rng)
    {
        int total = layer.Parameters.Sum(p => p.Count);
        var storage = new float[total];
        int offset = 0;
        foreach (var p in layer.Parameters)
        {
            p.Bind(storage, offset);
            offset += p.Count;
        }
        for (int i = 0; i < storage.Length; i++) storage[i] = rng.Uniform(-1f, 1f);
    }

    /// <summary>The same channels selected in every parameter of the layer; none listed: all channels.</summary>
    public static ChannelSelection?[] Select(Layer layer, params int[] channels) =>
        layer.Parameters.Select(p => (ChannelSelection?)new ChannelSelection(p, channels.Length > 0 ? channels : Enumerable.Range(0, p.OutputChannels).ToArray())).ToArray();

    /// <summary>Only parameter <paramref name="index"/> trains (all its channels); the others are frozen.</summary>
    public static ChannelSelection?[] SelectOnly(Layer layer, int index) =>
        layer.Parameters.Select((p, i) => i == index ? new ChannelSelection(p, Enumerable.Range(0, p.OutputChannels).ToArray()) : null).ToArray();

    public static ChannelSelection?[] Frozen(Layer layer) => new ChannelSelection?[layer.Parameters.Count];

    public static float[] Uniform(Rng rng, int n, float lo, float hi)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = rng.Uniform(lo, hi);
        return a;
    }

    /// <summary>Uniform values at least <paramref name="margin"/> from every kink, so a finite-difference step never crosses one.</summary>
    public static float[] AwayFrom(Rng rng, int n, float lo, float hi, float margin, params float[] kinks)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            float v;
            do v = rng.Uniform(lo, hi);
            while (kinks.Any(k => Math.Abs(v - k) < margin));
            a[i] = v;
        }
        return a;
    }

    /// <summary>A shuffled ramp of n distinct values spaced <paramref name="spacing"/> apart: no ties, no near-ties for arg-max.</summary>
    public static float[] Distinct(Rng rng, int n, float spacing)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (i - n / 2) * spacing;
        rng.Shuffle(a.AsSpan());
        return a;
    }

    public static float[] Filled(long n, float value)
    {
        var a = new float[n];
        Array.Fill(a, value);
        return a;
    }
}
