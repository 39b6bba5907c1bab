using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;

namespace Ftte.Engine.Kernels;

/// <summary>
/// im2col and its adjoint col2im, which turn a 2-D convolution into one <see cref="Gemm"/>:
/// Y (Cout, Ho·Wo) = W (Cout, C·kh·kw) × cols (C·kh·kw, Ho·Wo).
/// Row (ch, ki, kj) of cols, column (oy, ox), holds x[ch, oy·strideH − padH + ki, ox·strideW − padW + kj], zero outside the image.
/// (Named ConvColumns, not Im2Col: a C# member cannot share its class's name.)
/// </summary>
internal static class ConvColumns
{
    /// <summary>Output length of a convolution or pooling window along one axis: ⌊(in + 2·pad − kernel) / stride⌋ + 1.</summary>
    public static int OutputSize(int input, int kernel, int stride, int pad)
    {
        if (input <= 0 || kernel <= 0 || stride <= 0 || pad < 0) ThrowHelper.BadGeometry(input, kernel, stride, pad);
        int span = input + 2 * pad - kernel;
        if (span < 0) ThrowHelper.KernelLargerThanInput(input, kernel, pad);
        return span / stride + 1;
    }

    /// <summary>Floats of the column matrix: (C·kh·kw) × (Ho·Wo).</summary>
    public static int ColumnFloats(int c, int h, int w, int kh, int kw, int strideH, int strideW, int padH, int padW)
        => checked(c * kh * kw * OutputSize(h, kh, strideH, padH) * OutputSize(w, kw, strideW, padW));

    /// <summary>
    /// (C, H, W) → (C·kh·kw, Ho·Wo). Overwrites every element of <paramref name="col"/>'s first <see cref="ColumnFloats"/> floats.
    /// Each output row segment (fixed ch, ki, kj, oy) is a strided read of one input row; the columns whose window falls in the
    /// padding are a prefix and a suffix of it, found once per (kj), so the inner loop has no bounds tests and, at stride 1,
    /// is a plain block copy.
    /// </summary>
    public static void Im2Col(ReadOnlySpan<float> x, int c, int h, int w, int kh, int kw,
        int strideH, int strideW, int padH, int padW, Span<float> col)
    {
        int ho = OutputSize(h, kh, strideH, padH), wo = OutputSize(w, kw, strideW, padW);
        CheckLengths(x.Length, col.Length, c, h, w, kh, kw, ho, wo);
        int plane = ho * wo;
        int row = 0;
        for (int ch = 0; ch < c; ch++)
        {
            var image = x.Slice(ch * h * w, h * w);
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++, row++)
                {
                    var dst = col.Slice(row * plane, plane);
                    var (lo, hi) = ValidColumns(w, wo, strideW, padW, kj);
                    for (int oy = 0; oy < ho; oy++)
                    {
                        var seg = dst.Slice(oy * wo, wo);
                        int iy = oy * strideH - padH + ki;
                        if ((uint)iy >= (uint)h || lo >= hi)
                        {
                            seg.Clear();
                            continue;
                        }
                        seg[..lo].Clear();
                        seg[hi..].Clear();
                        var src = image.Slice(iy * w, w);
                        int ix0 = lo * strideW - padW + kj;
                        if (strideW == 1)
                        {
                            src.Slice(ix0, hi - lo).CopyTo(seg[lo..hi]);
                        }
                        else
                        {
                            for (int ox = lo, ix = ix0; ox < hi; ox++, ix += strideW) seg[ox] = src[ix];
                        }
                    }
                }
        }
    }

    /// <summary>
    /// The adjoint of <see cref="Im2Col"/>: (C·kh·kw, Ho·Wo) → (C, H, W), added into <paramref name="dx"/>.
    /// Every column element is added to the input pixel it was copied from (padding positions are dropped), in a fixed
    /// (ch, ki, kj, oy, ox) order, so the result is deterministic; at stride 1 each row segment is one vector add.
    /// </summary>
    public static void Col2ImAccumulate(ReadOnlySpan<float> col, int c, int h, int w, int kh, int kw,
        int strideH, int strideW, int padH, int padW, Span<float> dx)
    {
        int ho = OutputSize(h, kh, strideH, padH), wo = OutputSize(w, kw, strideW, padW);
        CheckLengths(dx.Length, col.Length, c, h, w, kh, kw, ho, wo);
        int plane = ho * wo;
        int row = 0;
        for (int ch = 0; ch < c; ch++)
        {
            var image = dx.Slice(ch * h * w, h * w);
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++, row++)
                {
                    var src = col.Slice(row * plane, plane);
                    var (lo, hi) = ValidColumns(w, wo, strideW, padW, kj);
                    if (lo >= hi) continue;
                    for (int oy = 0; oy < ho; oy++)
                    {
                        int iy = oy * strideH - padH + ki;
                        if ((uint)iy >= (uint)h) continue;
                        var seg = src.Slice(oy * wo, wo);
                        var dst = image.Slice(iy * w, w);
                        int ix0 = lo * strideW - padW + kj;
                        if (strideW == 1)
                        {
                            var d = dst.Slice(ix0, hi - lo);
                            TensorPrimitives.Add(d, seg[lo..hi], d);
                        }
                        else
                        {
                            for (int ox = lo, ix = ix0; ox < hi; ox++, ix += strideW) dst[ix] += seg[ox];
                        }
                    }
                }
        }
    }

    /// <summary>The output columns [lo, hi) whose input column ox·stride − pad + kj lies inside [0, w).</summary>
    private static (int Lo, int Hi) ValidColumns(int w, int wo, int stride, int pad, int kj)
    {
        int lo = 0;
        while (lo < wo && lo * stride - pad + kj < 0) lo++;
        int hi = wo;
        while (hi > lo && (hi - 1) * stride - pad + kj >= w) hi--;
        return (lo, hi);
    }

    private static void CheckLengths(int imageLength, int colLength, int c, int h, int w, int kh, int kw, int ho, int wo)
    {
        if (c < 0) ThrowHelper.BadGeometry(c, kh, 1, 0);
        long image = (long)c * h * w, columns = (long)c * kh * kw * ho * wo;
        if (imageLength < image) ThrowHelper.TooShort("image", imageLength, image);
        if (colLength < columns) ThrowHelper.TooShort("col", colLength, columns);
    }

    private static class ThrowHelper
    {
        [DoesNotReturn]
        public static void BadGeometry(int input, int kernel, int stride, int pad) =>
            throw new ArgumentOutOfRangeException(nameof(input),
                $"Convolution geometry needs input, kernel and stride > 0 and pad ≥ 0, got input={input}, kernel={kernel}, stride={stride}, pad={pad}.");

        [DoesNotReturn]
        public static void KernelLargerThanInput(int input, int kernel, int pad) =>
            throw new ArgumentOutOfRangeException(nameof(kernel), kernel, $"A kernel of {kernel} does not fit an input of {input} with padding {pad}.");

        [DoesNotReturn]
        public static void TooShort(string name, int length, long needed) =>
            throw new ArgumentException($"The {name} span holds {length} floats but the geometry needs {needed}.", name);
    }
}
