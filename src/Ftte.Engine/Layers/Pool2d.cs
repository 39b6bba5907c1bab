using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Ftte.Engine.Kernels;

namespace Ftte.Engine.Layers;

/// <summary>What max and average pooling share: k×k windows with a stride and no padding, over (C,H,W) planes.</summary>
public abstract class WindowPool2d : Layer
{
    private protected readonly int _inW, _outH, _outW, _inPlane, _outPlane;

    private protected WindowPool2d(string name, Shape input, int kernel, int stride) : base(name, [input], PoolShape.Of(name, input, kernel, stride))
    {
        KernelSize = kernel;
        Stride = stride;
        _inW = input[2];
        _outH = OutputShape[1];
        _outW = OutputShape[2];
        _inPlane = input[1] * input[2];
        _outPlane = _outH * _outW;
    }

    public int KernelSize { get; }
    public int Stride { get; }

    internal override IEnumerable<KeyValuePair<string, object>> DescribeOptions()
    {
        yield return new("kernel", KernelSize);
        if (Stride != KernelSize) yield return new("stride", Stride);
    }
}

/// <summary>Max pooling over k×k windows with a stride, no padding. Backward routes each gradient to the window's arg-max.</summary>
public sealed class MaxPool2d(string name, Shape input, int kernel, int stride) : WindowPool2d(name, input, kernel, stride)
{
    public override string Kind => "maxpool2d";

    /// <summary>One comparison per window element.</summary>
    public override long ForwardFlops => (long)OutputShape.Size * KernelSize * KernelSize;
    /// <summary>One add per output: the gradient goes to a single input.</summary>
    public override long BackwardFlops(in LayerNeeds needs) => needs.InputGrad() ? OutputShape.Size : 0;

    /// <summary>Saves one arg-max index (a 4-byte int, within the sample's input plane) per output, only when the input gradient is needed.</summary>
    internal override LayerMemory Memory(in LayerNeeds needs, int batch) =>
        new(SavedFloats: SavesArgMax(needs) ? (long)batch * OutputShape.Size : 0);

    private static bool SavesArgMax(in LayerNeeds needs) => needs.Backward && needs.InputGrad();

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        // y[p, oh, ow] = max_{i,j} x[p, oh·s+i, ow·s+j] per plane p = (b, c); argMax keeps the winning h·W+w.
        bool save = SavesArgMax(needs);
        var argMax = save ? MemoryMarshal.Cast<float, int>(ctx.Saved) : default;
        int k = KernelSize, stride = Stride, inW = _inW, outW = _outW;
        int planes = ctx.Batch * InputShape[0];
        if (k == 2 && stride == 2)
        {
            // The common case gets a branch-free vector kernel (same winners as the loop below).
            PoolKernels.MaxPool2x2(ctx.X, planes, InputShape[1], inW, ctx.Y, argMax, useVector: true);
            return;
        }
        for (int p = 0; p < planes; p++)
        {
            var x = ctx.X.Slice(p * _inPlane, _inPlane);
            var y = ctx.Y.Slice(p * _outPlane, _outPlane);
            for (int oh = 0; oh < _outH; oh++)
            {
                for (int ow = 0; ow < outW; ow++)
                {
                    int first = oh * stride * inW + ow * stride;
                    int best = first;
                    float max = x[first];
                    for (int i = 0, row = first; i < k; i++, row += inW)
                        for (int at = row; at < row + k; at++)
                            if (x[at] > max)
                            {
                                max = x[at];
                                best = at;
                            }
                    int o = oh * outW + ow;
                    y[o] = max;
                    if (save) argMax[p * _outPlane + o] = best;
                }
            }
        }
    }

    /// <summary>2×2 windows at stride 2 write their whole input gradient (see <see cref="PoolKernels.MaxPool2x2BackwardOverwrite"/>).</summary>
    internal override bool CanOverwriteInputGradient => KernelSize == 2 && Stride == 2;

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        if (!needs.InputGrad()) return;
        // dx[p, argMax] += dy[p, o]
        var argMax = MemoryMarshal.Cast<float, int>(ctx.Saved);
        int planes = ctx.Batch * InputShape[0];
        if (ctx.OverwriteDx)
        {
            PoolKernels.MaxPool2x2BackwardOverwrite(ctx.Dy, argMax, planes, InputShape[1], _inW, ctx.Dx, useVector: true);
            return;
        }
        for (int p = 0; p < planes; p++)
        {
            var dx = ctx.Dx.Slice(p * _inPlane, _inPlane);
            var dy = ctx.Dy.Slice(p * _outPlane, _outPlane);
            var index = argMax.Slice(p * _outPlane, _outPlane);
            for (int o = 0; o < index.Length; o++) dx[index[o]] += dy[o];
        }
    }

}

/// <summary>Average pooling over k×k windows with a stride, no padding.</summary>
public sealed class AvgPool2d(string name, Shape input, int kernel, int stride) : WindowPool2d(name, input, kernel, stride)
{
    public override string Kind => "avgpool2d";

    /// <summary>k² − 1 adds and one scale per output.</summary>
    public override long ForwardFlops => (long)OutputShape.Size * KernelSize * KernelSize;
    /// <summary>One add per window element: dy/k² spread over the window.</summary>
    public override long BackwardFlops(in LayerNeeds needs) => needs.InputGrad() ? (long)OutputShape.Size * KernelSize * KernelSize : 0;

    /// <summary>Linear with a fixed window: backward needs nothing from forward.</summary>
    internal override LayerMemory Memory(in LayerNeeds needs, int batch) => default;

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        // y[p, oh, ow] = (1/k²) Σ_{i,j} x[p, oh·s+i, ow·s+j]
        int k = KernelSize, stride = Stride, inW = _inW, outW = _outW;
        float scale = 1f / (k * k);
        int planes = ctx.Batch * InputShape[0];
        for (int p = 0; p < planes; p++)
        {
            var x = ctx.X.Slice(p * _inPlane, _inPlane);
            var y = ctx.Y.Slice(p * _outPlane, _outPlane);
            for (int oh = 0; oh < _outH; oh++)
            {
                for (int ow = 0; ow < outW; ow++)
                {
                    int first = oh * stride * inW + ow * stride;
                    float sum = 0;
                    for (int i = 0, row = first; i < k; i++, row += inW)
                        for (int at = row; at < row + k; at++) sum += x[at];
                    y[oh * outW + ow] = sum * scale;
                }
            }
        }
    }

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        if (!needs.InputGrad()) return;
        // dx[p, oh·s+i, ow·s+j] += dy[p, oh, ow] / k²
        int k = KernelSize, stride = Stride, inW = _inW, outW = _outW;
        float scale = 1f / (k * k);
        int planes = ctx.Batch * InputShape[0];
        for (int p = 0; p < planes; p++)
        {
            var dx = ctx.Dx.Slice(p * _inPlane, _inPlane);
            var dy = ctx.Dy.Slice(p * _outPlane, _outPlane);
            for (int oh = 0; oh < _outH; oh++)
            {
                for (int ow = 0; ow < outW; ow++)
                {
                    int first = oh * stride * inW + ow * stride;
                    float g = dy[oh * outW + ow] * scale;
                    for (int i = 0, row = first; i < k; i++, row += inW)
                        for (int at = row; at < row + k; at++) dx[at] += g;
                }
            }
        }
    }

}

/// <summary>Global average pooling: (C,H,W) → (C).</summary>
public sealed class GlobalAvgPool : Layer
{
    public GlobalAvgPool(string name, Shape input) : base(name, [input], new Shape(ChannelsOf(name, input))) { }

    private static int ChannelsOf(string name, Shape input) =>
        input.Rank == 3 ? input[0] : throw new ArgumentException($"Global average pooling '{name}' needs a (C,H,W) input, got {input}.");

    public override string Kind => "globalavgpool";
    private int Plane => InputShape[1] * InputShape[2];

    /// <summary>H·W − 1 adds and one scale per channel.</summary>
    public override long ForwardFlops => InputShape.Size;
    public override long BackwardFlops(in LayerNeeds needs) => needs.InputGrad() ? InputShape.Size : 0;
    internal override LayerMemory Memory(in LayerNeeds needs, int batch) => default;

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        // y[b, c] = (1/HW) Σ_hw x[b, c, h, w] : (B, C, H·W) → (B, C)
        int plane = Plane;
        float scale = 1f / plane;
        int planes = ctx.Batch * OutputShape.Size;
        for (int p = 0; p < planes; p++) ctx.Y[p] = TensorPrimitives.Sum(ctx.X.Slice(p * plane, plane)) * scale;
    }

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        if (!needs.InputGrad()) return;
        // dx[b, c, h, w] += dy[b, c] / HW
        int plane = Plane;
        float scale = 1f / plane;
        int planes = ctx.Batch * OutputShape.Size;
        for (int p = 0; p < planes; p++)
        {
            var dx = ctx.Dx.Slice(p * plane, plane);
            TensorPrimitives.Add(dx, ctx.Dy[p] * scale, dx);
        }
    }
    internal override IEnumerable<KeyValuePair<string, object>> DescribeOptions() => [];
}

internal static class PoolShape
{
    public static Shape Of(string name, Shape input, int kernel, int stride)
    {
        if (input.Rank != 3) throw new ArgumentException($"Pooling '{name}' needs a (C,H,W) input, got {input}.");
        if (kernel <= 0 || stride <= 0) throw new ArgumentException($"Pooling '{name}': kernel and stride must be positive.");
        int h = (input[1] - kernel) / stride + 1, w = (input[2] - kernel) / stride + 1;
        if (h <= 0 || w <= 0) throw new ArgumentException($"Pooling '{name}': window {kernel} does not fit input {input}.");
        return new Shape(input[0], h, w);
    }
}
