using System.Numerics.Tensors;
using Ftte.Engine.Kernels;

namespace Ftte.Engine.Layers;

/// <summary>
/// 2-D convolution over (C,H,W) with square kernel, stride, zero padding and groups (groups = C gives a
/// depthwise convolution). Weight (Cout, Cin/groups, k, k): output channel o is row o.
/// </summary>
/// <remarks>
/// Per sample and group the convolution is one GEMM over im2col columns:
/// Y_g (Cout/G, Ho·Wo) = W_g (Cout/G, K) × cols (K, Ho·Wo), with K = Cin/G·k·k.
/// A 1×1, stride-1, unpadded convolution needs no im2col: the input planes already are the columns.
/// A depthwise convolution (one input and one output channel per group) would be a GEMM with one row,
/// so it gets a direct kernel: per channel and tap, one multiply-add over the whole plane (see <see cref="SplitPhases"/>).
/// </remarks>
public sealed class Conv2d : Layer
{
    private readonly Parameter _weight;
    private readonly Parameter? _bias;
    private readonly int _inH, _inW, _outH, _outW;
    private readonly int _groupIn, _groupOut;   // Cin/G, Cout/G
    private readonly int _columnRows;           // K = Cin/G·k·k, also the weight's channel size
    private readonly int _outPlane;             // N = Ho·Wo
    private readonly int _inPlane;              // H·W
    private readonly bool _isDepthwise, _isPointwise;
    private readonly int _phaseH, _phaseW;      // depthwise: ⌈(H+2p)/s⌉, ⌈(W+2p)/s⌉, see SplitPhases

    public Conv2d(string name, Shape input, int outChannels, int kernel, int stride = 1, int padding = 0, int groups = 1, bool bias = true)
        : base(name, [input], OutputShapeOf(name, input, outChannels, kernel, stride, padding, groups))
    {
        InChannels = input[0];
        OutChannels = outChannels;
        KernelSize = kernel;
        Stride = stride;
        Padding = padding;
        Groups = groups;
        int fanIn = InChannels / groups * kernel * kernel;
        _weight = AddParameter("weight", new Shape(outChannels, InChannels / groups, kernel, kernel), ParameterRole.Weight, fanIn);
        if (bias) _bias = AddParameter("bias", new Shape(outChannels), ParameterRole.Bias, fanIn);

        _inH = input[1];
        _inW = input[2];
        _outH = OutputShape[1];
        _outW = OutputShape[2];
        _groupIn = InChannels / groups;
        _groupOut = outChannels / groups;
        _columnRows = fanIn;
        _outPlane = _outH * _outW;
        _inPlane = _inH * _inW;
        _isDepthwise = _groupIn == 1 && _groupOut == 1;
        _isPointwise = kernel == 1 && stride == 1 && padding == 0;
        _phaseH = (_inH + 2 * padding + stride - 1) / stride;
        _phaseW = (_inW + 2 * padding + stride - 1) / stride;
    }

    private static Shape OutputShapeOf(string name, Shape input, int outChannels, int kernel, int stride, int padding, int groups)
    {
        if (input.Rank != 3) throw new ArgumentException($"Conv2d '{name}' needs a (C,H,W) input, got {input}.");
        if (kernel <= 0 || stride <= 0 || padding < 0 || outChannels <= 0 || groups <= 0)
            throw new ArgumentException($"Conv2d '{name}': kernel, stride, output channels and groups must be positive and padding not negative.");
        if (input[0] % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d '{name}': groups ({groups}) must divide both input channels ({input[0]}) and output channels ({outChannels}).");
        int h = (input[1] + 2 * padding - kernel) / stride + 1;
        int w = (input[2] + 2 * padding - kernel) / stride + 1;
        if (h <= 0 || w <= 0) throw new ArgumentException($"Conv2d '{name}': kernel {kernel} does not fit input {input} with padding {padding}.");
        return new Shape(outChannels, h, w);
    }

    public override string Kind => "conv2d";
    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }
    public int Padding { get; }
    public int Groups { get; }
    internal Parameter Weight => _weight;
    internal Parameter? Bias => _bias;

    /// <summary>Floats of one im2col column block (K, Ho·Wo); none when the input planes serve as columns.</summary>
    private long ColumnFloats => _isPointwise ? 0 : (long)_columnRows * _outPlane;

    public override long ForwardFlops => 2L * OutChannels * _columnRows * _outPlane + (_bias is null ? 0 : (long)OutChannels * _outPlane);

    public override long BackwardFlops(in LayerNeeds needs)
    {
        long perChannel = 2L * _columnRows * _outPlane;   // one output channel's multiply-adds against its K·(Ho·Wo) inputs
        long flops = needs.InputGrad() ? OutChannels * perChannel : 0;
        if (needs.Selection(0) is { } w) flops += w.Count * perChannel;
        if (needs.Selection(1) is { } b) flops += (long)b.Count * _outPlane;
        return flops;
    }

    internal override LayerMemory Memory(in LayerNeeds needs, int batch)
    {
        // Only the weight gradient reads the input (dW = dY·colsᵀ); the input and bias gradients do not (TinyTL).
        bool keepInputs = needs.Trains(0);
        if (_isDepthwise)
        {
            long floats = PhaseFloats + WideFloats;
            return new LayerMemory(KeepInputs: keepInputs, ForwardWorkspaceFloats: floats,
                                   BackwardWorkspaceFloats: keepInputs || needs.InputGrad() ? floats : 0);
        }

        long forward = ColumnFloats + Gemm.WorkspaceFloats(false, false, _groupOut, _outPlane, _columnRows);
        long backward = 0;
        if (needs.InputGrad())
            backward = ColumnFloats + Gemm.WorkspaceFloats(true, false, _columnRows, _outPlane, _groupOut);
        if (needs.Selection(0) is { } w)
        {
            // Per group: recomputed columns, the group's selected dY rows gathered when not one range, the GEMM's scratch.
            long weight = 0;
            for (int g = 0; g < Groups; g++)
            {
                var (start, count) = GroupRange(w.Channels, g);
                if (count == 0) continue;
                var channels = w.Channels.Slice(start, count);
                long gather = IsRange(channels) ? 0 : (long)channels.Length * _outPlane;
                weight = Math.Max(weight, gather + Gemm.WorkspaceFloats(false, true, channels.Length, _columnRows, _outPlane));
            }
            backward = Math.Max(backward, ColumnFloats + weight);
        }
        return new LayerMemory(KeepInputs: keepInputs, ForwardWorkspaceFloats: forward, BackwardWorkspaceFloats: backward);
    }

    internal override void Forward(in ForwardContext ctx, in LayerNeeds needs)
    {
        int inSize = InputShape.Size, outSize = OutputShape.Size;
        int groupInSize = _groupIn * _inPlane, groupOutSize = _groupOut * _outPlane;
        int k = _columnRows, n = _outPlane;
        ReadOnlySpan<float> weight = _weight.Data;
        for (int s = 0; s < ctx.Batch; s++)
        {
            var x = ctx.X.Slice(s * inSize, inSize);
            var y = ctx.Y.Slice(s * outSize, outSize);
            if (_isDepthwise)
            {
                DepthwiseForward(x, weight, y, ctx.Workspace);
            }
            else
            {
                for (int g = 0; g < Groups; g++)
                {
                    var ws = ctx.Workspace;
                    var columns = Columns(x.Slice(g * groupInSize, groupInSize), ref ws);
                    // (Cout/G, K) × (K, Ho·Wo) → (Cout/G, Ho·Wo)
                    Gemm.Multiply(false, false, _groupOut, n, k, weight.Slice(g * _groupOut * k, _groupOut * k), k,
                                  columns, n, y.Slice(g * groupOutSize, groupOutSize), n, accumulate: false, ws);
                }
            }
            if (_bias is null) continue;
            ReadOnlySpan<float> bias = _bias.Data;
            for (int c = 0; c < OutChannels; c++)
            {
                var plane = y.Slice(c * n, n);
                TensorPrimitives.Add(plane, bias[c], plane);
            }
        }
    }

    internal override void Backward(in BackwardContext ctx, in LayerNeeds needs)
    {
        int inSize = InputShape.Size, outSize = OutputShape.Size;
        int groupInSize = _groupIn * _inPlane, groupOutSize = _groupOut * _outPlane;
        int k = _columnRows, n = _outPlane;
        ReadOnlySpan<float> weight = _weight.Data;
        var weightSelection = needs.Selection(0);
        bool inputGrad = needs.InputGrad();
        if (weightSelection is not null) ctx.Grad0.Clear();   // dW is a sum over the batch; accumulate per sample

        for (int s = 0; s < ctx.Batch; s++)
        {
            var dy = ctx.Dy.Slice(s * outSize, outSize);
            var x = weightSelection is null ? default : ctx.X.Slice(s * inSize, inSize);
            var dx = inputGrad ? ctx.Dx.Slice(s * inSize, inSize) : default;
            if (_isDepthwise)
            {
                if (weightSelection is not null || inputGrad)
                    DepthwiseBackward(x, dy, weight, weightSelection is null ? default : weightSelection.Channels, ctx.Grad0, dx, ctx.Workspace);
                continue;
            }
            for (int g = 0; g < Groups; g++)
            {
                var dyG = dy.Slice(g * groupOutSize, groupOutSize);
                if (weightSelection is not null)
                {
                    // The group's selected channels and, at the same position, their rows of the compact gradient.
                    var (first, count) = GroupRange(weightSelection.Channels, g);
                    if (count > 0)
                    {
                        var channels = weightSelection.Channels.Slice(first, count);
                        var ws = ctx.Workspace;
                        var columns = Columns(x.Slice(g * groupInSize, groupInSize), ref ws);
                        ReadOnlySpan<float> dyS;
                        if (IsRange(channels))
                        {
                            dyS = dy.Slice(channels[0] * n, channels.Length * n);
                        }
                        else
                        {
                            var gathered = ws[..(channels.Length * n)];
                            for (int j = 0; j < channels.Length; j++) dy.Slice(channels[j] * n, n).CopyTo(gathered.Slice(j * n, n));
                            ws = ws[gathered.Length..];
                            dyS = gathered;
                        }
                        // dW[S_g] += dY[S_g] · colsᵀ : (|S_g|, Ho·Wo) × (K, Ho·Wo)ᵀ → (|S_g|, K)
                        Gemm.Multiply(false, true, channels.Length, k, n, dyS, n, columns, n,
                                      ctx.Grad0.Slice(first * k, channels.Length * k), k, accumulate: true, ws);
                    }
                }
                if (inputGrad)
                {
                    var wG = weight.Slice(g * _groupOut * k, _groupOut * k);
                    var dxG = dx.Slice(g * groupInSize, groupInSize);
                    if (_isPointwise)
                    {
                        // dX_g += W_gᵀ · dY_g : (Cout/G, Cin/G)ᵀ × (Cout/G, H·W) → (Cin/G, H·W)
                        Gemm.Multiply(true, false, k, n, _groupOut, wG, k, dyG, n, dxG, n, accumulate: true, ctx.Workspace);
                    }
                    else
                    {
                        // dcols = W_gᵀ · dY_g : (Cout/G, K)ᵀ × (Cout/G, Ho·Wo) → (K, Ho·Wo), then scattered back onto the input planes.
                        var dColumns = ctx.Workspace[..(k * n)];
                        Gemm.Multiply(true, false, k, n, _groupOut, wG, k, dyG, n, dColumns, n, accumulate: false, ctx.Workspace[(k * n)..]);
                        ConvColumns.Col2ImAccumulate(dColumns, _groupIn, _inH, _inW, KernelSize, KernelSize, Stride, Stride, Padding, Padding, dxG);
                    }
                }
            }
        }

        if (needs.Selection(1) is { } biasSelection)
        {
            // db[S] = Σ_b Σ_hw dY[b, S, h, w]
            var db = ctx.Grad1;
            db.Clear();
            var channels = biasSelection.Channels;
            for (int s = 0; s < ctx.Batch; s++)
            {
                var dy = ctx.Dy.Slice(s * outSize, outSize);
                for (int j = 0; j < channels.Length; j++) db[j] += TensorPrimitives.Sum(dy.Slice(channels[j] * n, n));
            }
        }
    }

    /// <summary>The (K, Ho·Wo) columns of one group's input: the input itself for a 1×1 convolution, else im2col into the head of <paramref name="workspace"/>, which is advanced past them.</summary>
    private ReadOnlySpan<float> Columns(ReadOnlySpan<float> groupInput, ref Span<float> workspace)
    {
        if (_isPointwise) return groupInput;
        int floats = _columnRows * _outPlane;
        var columns = workspace[..floats];
        // (Cin/G, H, W) → (Cin/G·k·k, Ho·Wo)
        ConvColumns.Im2Col(groupInput, _groupIn, _inH, _inW, KernelSize, KernelSize, Stride, Stride, Padding, Padding, columns);
        workspace = workspace[floats..];
        return columns;
    }

    /// <summary>Where group g's channels, [g·Cout/G, (g+1)·Cout/G), sit in the sorted selection: one run of it.</summary>
    private (int Start, int Count) GroupRange(ReadOnlySpan<int> selected, int g)
    {
        int start = LowerBound(selected, g * _groupOut);
        return (start, LowerBound(selected, (g + 1) * _groupOut) - start);
    }

    private static int LowerBound(ReadOnlySpan<int> sorted, int value)
    {
        int i = sorted.BinarySearch(value);
        return i >= 0 ? i : ~i;
    }

    private static bool IsRange(ReadOnlySpan<int> channels) => channels[^1] - channels[0] == channels.Length - 1;

    // ---- Depthwise: Cin = Cout = G, one k×k filter per channel ----
    //
    // Why phases: a row-by-row kernel spends its time on call overhead and bounds tests (rows are 4–16 wide in
    // MobileNet), and at stride 2 it cannot use contiguous vector work at all. Instead the zero-padded input plane
    // is split into s×s phase planes, P_ab[r,q] = x_pad[s·r + a, s·q + b], each Hq × Wq (stride 1: one phase, the
    // padded plane itself). Tap (i,j) = (s·di + a, s·dj + b) then reads P_ab[oh + di, ow + dj]: with the output
    // laid out at the phase width Wq ("wide" rows, the last Wq − Wo columns junk), every tap is one contiguous
    // multiply-add over the whole plane at the flat offset di·Wq + dj.

    /// <summary>Floats of the s² phase planes.</summary>
    private int PhaseFloats => Stride * Stride * _phaseH * _phaseW;
    /// <summary>Floats of one wide output plane up to its last real column: (Ho − 1)·Wq + Wo (the last row's junk is never needed).</summary>
    private int WideFloats => (_outH - 1) * _phaseW + _outW;

    /// <summary>(H,W) → s² × (Hq,Wq): P_ab[r,q] = x[s·r + a − p, s·q + b − p], zero outside the image.</summary>
    private void SplitPhases(ReadOnlySpan<float> plane, Span<float> phases)
    {
        int s = Stride, p = Padding, size = _phaseH * _phaseW;
        for (int a = 0; a < s; a++)
            for (int b = 0; b < s; b++)
            {
                var phase = phases.Slice((a * s + b) * size, size);
                for (int r = 0; r < _phaseH; r++)
                {
                    var dst = phase.Slice(r * _phaseW, _phaseW);
                    int ih = s * r + a - p;
                    if ((uint)ih >= (uint)_inH)
                    {
                        dst.Clear();
                        continue;
                    }
                    var src = plane.Slice(ih * _inW, _inW);
                    for (int q = 0, iw = b - p; q < _phaseW; q++, iw += s) dst[q] = (uint)iw < (uint)_inW ? src[iw] : 0f;
                }
            }
    }

    /// <summary>The adjoint of <see cref="SplitPhases"/>: dx[ih,iw] += dP_ab[r,q] for every phase element inside the image.</summary>
    private void MergePhasesAccumulate(ReadOnlySpan<float> phases, Span<float> plane)
    {
        int s = Stride, p = Padding, size = _phaseH * _phaseW;
        for (int a = 0; a < s; a++)
            for (int b = 0; b < s; b++)
            {
                var phase = phases.Slice((a * s + b) * size, size);
                for (int r = 0; r < _phaseH; r++)
                {
                    int ih = s * r + a - p;
                    if ((uint)ih >= (uint)_inH) continue;
                    var src = phase.Slice(r * _phaseW, _phaseW);
                    var dst = plane.Slice(ih * _inW, _inW);
                    for (int q = 0, iw = b - p; q < _phaseW; q++, iw += s)
                        if ((uint)iw < (uint)_inW) dst[iw] += src[q];
                }
            }
    }

    /// <summary>Where tap (i,j) reads in the phase planes: phase (i mod s, j mod s) from flat offset (i div s)·Wq + (j div s), <see cref="WideFloats"/> long.</summary>
    private int TapOffset(int i, int j)
    {
        int s = Stride;
        return ((i % s) * s + j % s) * _phaseH * _phaseW + (i / s) * _phaseW + j / s;
    }

    /// <summary>y[c] = Σ_{i,j} w[c,i,j] · x_pad[c, oh·s + i, ow·s + j] : (C,H,W) → (C,Ho,Wo), bias added by the caller.</summary>
    private void DepthwiseForward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, Span<float> workspace)
    {
        int kk = KernelSize * KernelSize, wide = WideFloats;
        var phases = workspace[..PhaseFloats];
        var wideY = workspace.Slice(PhaseFloats, wide);
        for (int c = 0; c < OutChannels; c++)
        {
            SplitPhases(x.Slice(c * _inPlane, _inPlane), phases);
            var wc = weight.Slice(c * kk, kk);
            wideY.Clear();
            for (int i = 0; i < KernelSize; i++)
                for (int j = 0; j < KernelSize; j++)
                    TensorPrimitives.MultiplyAdd(phases.Slice(TapOffset(i, j), wide), wc[i * KernelSize + j], wideY, wideY);
            var yc = y.Slice(c * _outPlane, _outPlane);
            for (int oh = 0; oh < _outH; oh++) wideY.Slice(oh * _phaseW, _outW).CopyTo(yc.Slice(oh * _outW, _outW));
        }
    }

    /// <summary>
    /// dw[S] += Σ_{oh,ow} dy[c,oh,ow] · x_pad[c, oh·s + i, ow·s + j] for the selected channels ((|S|, k·k), rows in selection
    /// order, <paramref name="dw"/> empty when frozen), and dx[c] += the same taps transposed when <paramref name="dx"/> is not empty.
    /// </summary>
    private void DepthwiseBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> weight,
                                   ReadOnlySpan<int> selected, Span<float> dw, Span<float> dx, Span<float> workspace)
    {
        int kk = KernelSize * KernelSize, wide = WideFloats;
        var phases = workspace[..PhaseFloats];
        var wideDy = workspace.Slice(PhaseFloats, wide);
        int next = 0;   // cursor into the sorted selection
        for (int c = 0; c < OutChannels; c++)
        {
            bool trains = next < selected.Length && selected[next] == c;
            if (!trains && dx.IsEmpty) continue;
            // dy at the phase width; its junk columns are zero so that they add nothing below.
            var dyc = dy.Slice(c * _outPlane, _outPlane);
            for (int oh = 0; oh < _outH; oh++)
            {
                dyc.Slice(oh * _outW, _outW).CopyTo(wideDy.Slice(oh * _phaseW, _outW));
                if (oh < _outH - 1) wideDy.Slice(oh * _phaseW + _outW, _phaseW - _outW).Clear();
            }
            if (trains)
            {
                SplitPhases(x.Slice(c * _inPlane, _inPlane), phases);
                var dwc = dw.Slice(next * kk, kk);
                for (int i = 0; i < KernelSize; i++)
                    for (int j = 0; j < KernelSize; j++)
                        dwc[i * KernelSize + j] += TensorPrimitives.Dot(wideDy, phases.Slice(TapOffset(i, j), wide));
                next++;
            }
            if (dx.IsEmpty) continue;
            // dP_ab[tap window] += w[c,i,j] · dy, then the phases are folded back onto the image.
            var wc = weight.Slice(c * kk, kk);
            phases.Clear();
            for (int i = 0; i < KernelSize; i++)
                for (int j = 0; j < KernelSize; j++)
                {
                    var window = phases.Slice(TapOffset(i, j), wide);
                    TensorPrimitives.MultiplyAdd(wideDy, wc[i * KernelSize + j], window, window);
                }
            MergePhasesAccumulate(phases, dx.Slice(c * _inPlane, _inPlane));
        }
    }

    internal override IEnumerable<KeyValuePair<string, object>> DescribeOptions()
    {
        yield return new("out", OutChannels);
        yield return new("kernel", KernelSize);
        if (Stride != 1) yield return new("stride", Stride);
        if (Padding != 0) yield return new("padding", Padding);
        if (Groups != 1) yield return new("groups", Groups);
        if (_bias is null) yield return new("bias", false);
    }
}
