using System.Numerics;
using System.Numerics.Tensors;

namespace Ftte.Engine.Layers;

public enum ActivationKind { Relu, Relu6 }

/// <summary>
/// ReLU (y = max(x,0)) and ReLU6 (y = min(max(x,0),6), MobileNetV2). Backward needs only the mask,
/// read back from the kept output (y ∈ (0, cap) ⇔ x ∈ (0, cap)), so no extra buffer is stored.
/// </summary>
public sealed class Activation : Layer
{
    public Activation(string name, Shape input, ActivationKind function) : base(name, [input], input)
    {
        Function = function;
    }

    public ActivationKind Function { get; }
    public override string Kind => Function == ActivationKind.Relu ? "relu" : "relu6";
    private float Cap => Function == ActivationKind.Relu ? float.PositiveInfinity : 6f;

    public override long ForwardFlops => OutputShape.Size;
    public override long BackwardFlops(in LayerNeeds needs) => needs.InputGrad() ? OutputShape.Size : 0;

    internal override LayerMemory Memory(in LayerNeeds needs, int batch) => new(KeepOutput: needs.InputGrad());

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        int n = ctx.Batch * OutputShape.Size;
        TensorPrimitives.Max(ctx.X[..n], 0f, ctx.Y[..n]);
        if (Function == ActivationKind.Relu6) TensorPrimitives.Min(ctx.Y[..n], 6f, ctx.Y[..n]);
    }

    internal override bool CanOverwriteInputGradient => true;

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        if (!needs.InputGrad()) return;
        int n = ctx.Batch * OutputShape.Size;
        if (ctx.OverwriteDx) MaskedCopy(ctx.Y[..n], ctx.Dy[..n], ctx.Dx[..n], Cap);
        else MaskedAccumulate(ctx.Y[..n], ctx.Dy[..n], ctx.Dx[..n], Cap);
    }

    /// <summary>dx = dy where 0 &lt; y &lt; cap, else 0 (the first writer of dx: no clear, no read of it). Vector&lt;float&gt; body, scalar tail.</summary>
    internal static void MaskedCopy(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, float cap)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && y.Length >= Vector<float>.Count)
        {
            var zero = Vector<float>.Zero;
            var capV = new Vector<float>(cap);
            for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var yv = new Vector<float>(y[i..]);
                var mask = Vector.BitwiseAnd(Vector.GreaterThan(yv, zero), Vector.LessThan(yv, capV));
                Vector.ConditionalSelect(mask, new Vector<float>(dy[i..]), zero).CopyTo(dx[i..]);
            }
        }
        for (; i < y.Length; i++) dx[i] = y[i] > 0f && y[i] < cap ? dy[i] : 0f;
    }

    /// <summary>dx += dy where 0 &lt; y &lt; cap. Vector&lt;float&gt; body, scalar tail.</summary>
    internal static void MaskedAccumulate(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, float cap)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && y.Length >= Vector<float>.Count)
        {
            var zero = Vector<float>.Zero;
            var capV = new Vector<float>(cap);
            for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var yv = new Vector<float>(y[i..]);
                var mask = Vector.BitwiseAnd(Vector.GreaterThan(yv, zero), Vector.LessThan(yv, capV));
                var acc = new Vector<float>(dx[i..]) + Vector.ConditionalSelect(mask, new Vector<float>(dy[i..]), zero);
                acc.CopyTo(dx[i..]);
            }
        }
        for (; i < y.Length; i++)
            if (y[i] > 0f && y[i] < cap) dx[i] += dy[i];
    }

    internal override IEnumerable<KeyValuePair<string, object>> DescribeOptions() => [];
}
