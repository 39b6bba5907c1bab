using System.Numerics.Tensors;
using Ftte.Engine.Kernels;

namespace Ftte.Engine.Layers;

public enum ActivationKind { Relu, Relu6 }

/// <summary>
/// ReLU (y = max(x,0)) and ReLU6 (y = min(max(x,0),6), MobileNetV2). Backward needs only where the input passed, so training
/// keeps a 1-bit mask (<see cref="ReluMask"/>: 1/32 of the output) instead of the output itself.
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

    internal override LayerMemory Memory(in LayerNeeds needs, int batch) =>
        new(SavedFloats: needs.InputGrad() ? ReluMask.Words((long)batch * OutputShape.Size) : 0);

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        int n = ctx.Batch * OutputShape.Size;
        TensorPrimitives.Max(ctx.X[..n], 0f, ctx.Y[..n]);
        if (Function == ActivationKind.Relu6) TensorPrimitives.Min(ctx.Y[..n], 6f, ctx.Y[..n]);
        if (needs.InputGrad()) ReluMask.Pack(ctx.Y[..n], ReluMask.AsWords(ctx.Saved), Cap);
    }

    internal override bool CanOverwriteInputGradient => true;
    internal override bool InPlace => true;

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        if (!needs.InputGrad()) return;
        int n = ctx.Batch * OutputShape.Size;
        var mask = ReluMask.AsWords(ctx.Saved);
        if (ctx.OverwriteDx) ReluMask.Copy(mask, ctx.Dy[..n], ctx.Dx[..n]);
        else ReluMask.Accumulate(mask, ctx.Dy[..n], ctx.Dx[..n]);
    }

    internal override IEnumerable<KeyValuePair<string, object>> DescribeOptions() => [];
}
