using System.Numerics.Tensors;
using Ftte.Core;

namespace Ftte.Engine.Layers;

/// <summary>
/// Group normalisation (Wu &amp; He 2018) over (C,H,W): per sample and group of C/G channels,
/// x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β with per-channel γ (scale) and β (shift). Batch-independent,
/// which suits tiny on-device batches where BatchNorm statistics are noise.
/// </summary>
public sealed class GroupNorm : Layer
{
    public const float Epsilon = 1e-5f;
    private readonly Parameter _scale;
    private readonly Parameter _shift;

    public GroupNorm(string name, Shape input, int groups) : base(name, [input], input)
    {
        if (input.Rank != 3) throw new ArgumentException($"GroupNorm '{name}' needs a (C,H,W) input, got {input}.");
        if (groups <= 0 || input[0] % groups != 0)
            throw new ArgumentException($"GroupNorm '{name}': groups ({groups}) must divide the channels ({input[0]}).");
        Groups = groups;
        _scale = AddParameter("weight", new Shape(input[0]), ParameterRole.NormScale, 1);
        _shift = AddParameter("bias", new Shape(input[0]), ParameterRole.NormShift, 1);
    }

    public override string Kind => "groupnorm";
    public int Groups { get; }

    private int Channels => InputShape[0];
    private int Plane => InputShape[1] * InputShape[2];
    /// <summary>Elements of one group of one sample: M = C/G·H·W.</summary>
    private int GroupSize => InputShape.Size / Groups;

    /// <summary>γ = 1, β = 0: the layer starts as a pure normalisation.</summary>
    internal override void Initialize(Rng rng)
    {
        _scale.Data.Fill(1f);
        _shift.Data.Clear();
    }

    /// <summary>Per element: sum (1), centre (1), square-sum (2), normalise (1), scale and shift (2).</summary>
    public override long ForwardFlops => 7L * InputShape.Size;

    public override long BackwardFlops(in LayerNeeds needs)
    {
        // Input gradient per element: Σĝ (1), Σĝx̂ (2), dx += a·dy + b·x̂ + c (5). dγ: a dot (2), dβ: a sum (1), per selected element.
        long flops = needs.InputGrad() ? 8L * InputShape.Size : 0;
        if (needs.Selection(0) is { } scale) flops += 2L * scale.Count * Plane;
        if (needs.Selection(1) is { } shift) flops += (long)shift.Count * Plane;
        return flops;
    }

    // Saved per sample: x̂ (C·H·W) when dγ or dx is needed, then 1/σ per group (G) when dx is needed.
    // x̂ stands in for the input, so the input itself is never kept; dβ alone needs nothing.
    private static bool SavesNormalized(in LayerNeeds needs) => needs.Backward && (needs.Trains(0) || needs.InputGrad());
    private static bool SavesRstd(in LayerNeeds needs) => needs.Backward && needs.InputGrad();
    private int SavedPerSample(in LayerNeeds needs) =>
        (SavesNormalized(needs) ? InputShape.Size : 0) + (SavesRstd(needs) ? Groups : 0);

    internal override LayerMemory Memory(in LayerNeeds needs, int batch) => new(SavedFloats: (long)batch * SavedPerSample(needs));

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        int size = InputShape.Size, m = GroupSize, plane = Plane, groupChannels = Channels / Groups;
        int stride = SavedPerSample(needs);
        bool saveNormalized = SavesNormalized(needs), saveRstd = SavesRstd(needs);
        ReadOnlySpan<float> gamma = _scale.Data, beta = _shift.Data;
        for (int s = 0; s < ctx.Batch; s++)
        {
            var x = ctx.X.Slice(s * size, size);
            var y = ctx.Y.Slice(s * size, size);
            var saved = stride == 0 ? default : ctx.Saved.Slice(s * stride, stride);
            for (int g = 0; g < Groups; g++)
            {
                var xg = x.Slice(g * m, m);
                var yg = y.Slice(g * m, m);
                // μ = Σx/M;  y ← x − μ (y doubles as scratch);  1/σ = 1/√(Σ(x−μ)²/M + ε);  y ← x̂ = (x − μ)/σ
                float mean = TensorPrimitives.Sum(xg) / m;
                TensorPrimitives.Add(xg, -mean, yg);
                float rstd = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(yg) / m + Epsilon);
                TensorPrimitives.Multiply(yg, rstd, yg);
                if (saveNormalized) yg.CopyTo(saved.Slice(g * m, m));
                if (saveRstd) saved[size + g] = rstd;
                // y[c] = γ[c]·x̂[c] + β[c] per channel of the group
                for (int c = g * groupChannels; c < (g + 1) * groupChannels; c++)
                {
                    var yc = y.Slice(c * plane, plane);
                    TensorPrimitives.Multiply(yc, gamma[c], yc);
                    TensorPrimitives.Add(yc, beta[c], yc);
                }
            }
        }
    }

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        int size = InputShape.Size, m = GroupSize, plane = Plane, groupChannels = Channels / Groups;
        int stride = SavedPerSample(needs);
        ReadOnlySpan<float> gamma = _scale.Data;

        if (needs.InputGrad())
        {
            // With ĝ = γ ⊙ dy over one group of M elements:
            // dx = (1/σ) · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))
            for (int s = 0; s < ctx.Batch; s++)
            {
                var dy = ctx.Dy.Slice(s * size, size);
                var dx = ctx.Dx.Slice(s * size, size);
                var saved = ctx.Saved.Slice(s * stride, stride);
                for (int g = 0; g < Groups; g++)
                {
                    float rstd = saved[size + g];
                    float sumG = 0, sumGx = 0;
                    for (int c = g * groupChannels; c < (g + 1) * groupChannels; c++)
                    {
                        var dyc = dy.Slice(c * plane, plane);
                        sumG += gamma[c] * TensorPrimitives.Sum(dyc);
                        sumGx += gamma[c] * TensorPrimitives.Dot(dyc, saved.Slice(c * plane, plane));
                    }
                    float meanG = sumG / m, meanGx = sumGx / m;
                    for (int c = g * groupChannels; c < (g + 1) * groupChannels; c++)
                    {
                        var dxc = dx.Slice(c * plane, plane);
                        // dx += (γ/σ)·dy − (mean(ĝx̂)/σ)·x̂ − mean(ĝ)/σ
                        TensorPrimitives.MultiplyAdd(dy.Slice(c * plane, plane), rstd * gamma[c], dxc, dxc);
                        TensorPrimitives.MultiplyAdd(saved.Slice(c * plane, plane), -rstd * meanGx, dxc, dxc);
                        TensorPrimitives.Add(dxc, -rstd * meanG, dxc);
                    }
                }
            }
        }

        if (needs.Selection(0) is { } scaleSelection)
        {
            // dγ[S] = Σ_b Σ_hw dy[b, S, h, w] · x̂[b, S, h, w]
            var dGamma = ctx.Grad0;
            dGamma.Clear();
            var channels = scaleSelection.Channels;
            for (int s = 0; s < ctx.Batch; s++)
            {
                var dy = ctx.Dy.Slice(s * size, size);
                var normalized = ctx.Saved.Slice(s * stride, size);
                for (int j = 0; j < channels.Length; j++)
                    dGamma[j] += TensorPrimitives.Dot(dy.Slice(channels[j] * plane, plane), normalized.Slice(channels[j] * plane, plane));
            }
        }

        if (needs.Selection(1) is { } shiftSelection)
        {
            // dβ[S] = Σ_b Σ_hw dy[b, S, h, w]
            var dBeta = ctx.Grad1;
            dBeta.Clear();
            var channels = shiftSelection.Channels;
            for (int s = 0; s < ctx.Batch; s++)
            {
                var dy = ctx.Dy.Slice(s * size, size);
                for (int j = 0; j < channels.Length; j++) dBeta[j] += TensorPrimitives.Sum(dy.Slice(channels[j] * plane, plane));
            }
        }
    }

    internal override IEnumerable<KeyValuePair<string, object>> DescribeOptions()
    {
        yield return new("groups", Groups);
    }
}
