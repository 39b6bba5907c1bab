using System.Numerics.Tensors;
using Ftte.Engine.Kernels;

namespace Ftte.Engine.Layers;

/// <summary>Fully connected layer: y = x·Wᵀ + b, W stored (Out, In) so output channel o is row o.</summary>
public sealed class Linear : Layer
{
    private readonly Parameter _weight;
    private readonly Parameter? _bias;

    public Linear(string name, Shape input, int outFeatures, bool bias = true)
        : base(name, [input], new Shape(outFeatures))
    {
        if (input.Rank != 1)
            throw new ArgumentException($"Linear '{name}' needs a flat input, got {input}; add a flatten layer before it.");
        if (outFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(outFeatures), outFeatures, $"Linear '{name}' needs at least one output.");
        In = input[0];
        Out = outFeatures;
        _weight = AddParameter("weight", new Shape(Out, In), ParameterRole.Weight, In);
        if (bias) _bias = AddParameter("bias", new Shape(Out), ParameterRole.Bias, In);
    }

    public override string Kind => "linear";
    public int In { get; }
    public int Out { get; }

    public override long ForwardFlops => 2L * In * Out + (_bias is null ? 0 : Out);

    public override long BackwardFlops(in LayerNeeds needs)
    {
        long flops = needs.InputGrad() ? 2L * In * Out : 0;
        if (needs.Selection(0) is { } w) flops += 2L * In * w.Count;
        if (needs.Selection(1) is { } b) flops += b.Count;
        return flops;
    }

    internal override LayerMemory Memory(in LayerNeeds needs, int batch)
    {
        long forward = Gemm.WorkspaceFloats(false, true, batch, Out, In);
        long backward = 0;
        if (needs.InputGrad()) backward = Gemm.WorkspaceFloats(false, false, batch, In, Out);
        if (needs.Selection(0) is { } w)
        {
            long gather = w.IsContiguous ? 0 : (long)batch * w.Count;
            backward = Math.Max(backward, gather + Gemm.WorkspaceFloats(true, false, w.Count, In, batch));
        }
        return new LayerMemory(KeepInputs: needs.Trains(0), ForwardWorkspaceFloats: forward, BackwardWorkspaceFloats: backward);
    }

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        int b = ctx.Batch;
        // (B,In) × (Out,In)ᵀ → (B,Out)
        Gemm.Multiply(false, true, b, Out, In, ctx.X, In, _weight.Data, In, ctx.Y, Out, accumulate: false, ctx.Workspace);
        if (_bias is null) return;
        ReadOnlySpan<float> bias = _bias.Data;
        for (int i = 0; i < b; i++)
        {
            var row = ctx.Y.Slice(i * Out, Out);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    internal override bool CanOverwriteInputGradient => true;

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        int b = ctx.Batch;
        if (needs.InputGrad())
        {
            // dX (+)= dY·W : (B,Out) × (Out,In) → (B,In)
            Gemm.Multiply(false, false, b, In, Out, ctx.Dy, Out, _weight.Data, In, ctx.Dx, In, accumulate: !ctx.OverwriteDx, ctx.Workspace);
        }
        if (needs.Selection(0) is { } w)
        {
            // dW[S] = dY[:,S]ᵀ·X : (|S|,B) × (B,In) → (|S|,In); only the trained rows are computed.
            ReadOnlySpan<float> dyS;
            int ld;
            Span<float> ws = ctx.Workspace;
            if (w.IsContiguous)
            {
                dyS = ctx.Dy[w.First..];
                ld = Out;
            }
            else
            {
                var gathered = ws[..(b * w.Count)];
                GatherColumns(ctx.Dy, b, Out, w.Channels, gathered);
                ws = ws[(b * w.Count)..];
                dyS = gathered;
                ld = w.Count;
            }
            Gemm.Multiply(true, false, w.Count, In, b, dyS, ld, ctx.X, In, ctx.Grad0, In, accumulate: false, ws);
        }
        if (needs.Selection(1) is { } bs)
        {
            // db[S] = Σ_b dY[b,S]
            var db = ctx.Grad1;
            db.Clear();
            var channels = bs.Channels;
            for (int i = 0; i < b; i++)
            {
                var row = ctx.Dy.Slice(i * Out, Out);
                if (bs.IsContiguous) TensorPrimitives.Add(db, row.Slice(bs.First, bs.Count), db);
                else for (int j = 0; j < channels.Length; j++) db[j] += row[channels[j]];
            }
        }
    }

    private static void GatherColumns(ReadOnlySpan<float> src, int rows, int cols, ReadOnlySpan<int> columns, Span<float> dst)
    {
        int k = columns.Length;
        for (int r = 0; r < rows; r++)
        {
            var s = src.Slice(r * cols, cols);
            var d = dst.Slice(r * k, k);
            for (int j = 0; j < k; j++) d[j] = s[columns[j]];
        }
    }

    internal override IEnumerable<KeyValuePair<string, object>> DescribeOptions()
    {
        yield return new("out", Out);
        if (_bias is null) yield return new("bias", false);
    }
}
