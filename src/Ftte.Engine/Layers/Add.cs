using System.Numerics.Tensors;

namespace Ftte.Engine.Layers;

/// <summary>Residual add y = a + b of two same-shaped values; the gradient flows unchanged to both.</summary>
public sealed class Add : Layer
{
    public Add(string name, Shape a, Shape b) : base(name, [a, b], a)
    {
        if (!a.Equals(b)) throw new ArgumentException($"Add '{name}' needs two inputs of one shape, got {a} and {b}.");
    }

    public override string Kind => "add";
    public override long ForwardFlops => OutputShape.Size;
    public override long BackwardFlops(in LayerNeeds needs) => (needs.InputGrad(0) ? OutputShape.Size : 0) + (needs.InputGrad(1) ? OutputShape.Size : 0);
    /// <summary>∂y/∂a = ∂y/∂b = 1: backward needs nothing from forward.</summary>
    internal override LayerMemory Memory(in LayerNeeds needs, int batch) => default;

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        int n = ctx.Batch * OutputShape.Size;
        TensorPrimitives.Add(ctx.X[..n], ctx.X2[..n], ctx.Y[..n]);
    }

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        // da += dy, db += dy
        int n = ctx.Batch * OutputShape.Size;
        var dy = ctx.Dy[..n];
        if (needs.InputGrad(0)) TensorPrimitives.Add(ctx.Dx[..n], dy, ctx.Dx[..n]);
        if (needs.InputGrad(1)) TensorPrimitives.Add(ctx.Dx2[..n], dy, ctx.Dx2[..n]);
    }

    internal override IEnumerable<KeyValuePair<string, object>> DescribeOptions() => [];
}
