using System.Numerics.Tensors;

namespace Ftte.Engine.Layers;

/// <summary>
/// (C,H,W) → (C·H·W). The memory is already contiguous: when the planner gives the output the input's buffer (in place)
/// forward and backward do nothing; otherwise they copy.
/// </summary>
public sealed class Flatten : Layer
{
    public Flatten(string name, Shape input) : base(name, [input], new Shape(input.Size)) { }

    public override string Kind => "flatten";
    public override long ForwardFlops => 0;
    public override long BackwardFlops(in LayerNeeds needs) => 0;
    internal override LayerMemory Memory(in LayerNeeds needs, int batch) => default;

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        int n = ctx.Batch * OutputShape.Size;
        if (!ctx.X.Overlaps(ctx.Y)) ctx.X[..n].CopyTo(ctx.Y);
    }

    internal override bool CanOverwriteInputGradient => true;
    internal override bool InPlace => true;

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        if (!needs.InputGrad()) return;
        int n = ctx.Batch * OutputShape.Size;
        if (ctx.OverwriteDx) { if (!ctx.Dy.Overlaps(ctx.Dx)) ctx.Dy[..n].CopyTo(ctx.Dx); }
        else TensorPrimitives.Add(ctx.Dx[..n], ctx.Dy[..n], ctx.Dx[..n]);
    }

    internal override IEnumerable<KeyValuePair<string, object>> DescribeOptions() => [];
}
