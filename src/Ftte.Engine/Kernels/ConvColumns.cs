using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
        if (IsSameWidthStride1(strideH, strideW, w, wo))
        {
            Im2ColSameWidth(x, c, h, w, kh, kw, padH, padW, ho, col);
            return;
        }
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
    /// The elements of <paramref name="col"/> that fall in the left/right padding may be overwritten with zeros (they are
    /// dropped either way): that lets a same-width stride-1 convolution add each column row with one vector add.
    /// </summary>
    public static void Col2ImAccumulate(Span<float> col, int c, int h, int w, int kh, int kw,
        int strideH, int strideW, int padH, int padW, Span<float> dx)
    {
        int ho = OutputSize(h, kh, strideH, padH), wo = OutputSize(w, kw, strideW, padW);
        CheckLengths(dx.Length, col.Length, c, h, w, kh, kw, ho, wo);
        if (IsSameWidthStride1(strideH, strideW, w, wo))
        {
            Col2ImSameWidth(col, c, h, w, kh, kw, padH, padW, ho, dx);
            return;
        }
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

    // ---- Stride 1 with Wo = W (a "same" convolution along the rows, 2·padW = kw − 1) ----
    //
    // Why: then output row oy and input row iy = oy − padH + ki have the same length, so column row (ch, ki, kj) restricted to
    // the valid output rows is ONE contiguous run of the image, shifted by (ki − padH)·W + (kj − padW): one block copy (or
    // one vector add) per column row instead of one per (column row, output row) — 14 calls of 14 floats each became one of
    // ~196 for LeNet's conv2. The only elements the run gets wrong are the kj-dependent padding columns (ox below lo or from
    // hi on), which it fills from the neighbouring image row: those few are zeroed after the copy (or before the add).

    private static bool IsSameWidthStride1(int strideH, int strideW, int w, int wo) => strideH == 1 && strideW == 1 && wo == w;

    /// <summary>The output rows [lo, hi) whose input row oy − padH + ki lies inside [0, h) (stride 1).</summary>
    private static (int Lo, int Hi) ValidRows(int h, int ho, int padH, int ki) =>
        (Math.Max(0, padH - ki), Math.Min(ho, h + padH - ki));

    /// <summary>
    /// Pointer loops rather than Span.Clear/CopyTo per run: the runs are short (one padding column, a ~200-float block), so
    /// per-call overhead dominated; the caller has checked both lengths (<see cref="CheckLengths"/>).
    /// </summary>
    private static unsafe void Im2ColSameWidth(ReadOnlySpan<float> x, int c, int h, int w, int kh, int kw, int padH, int padW, int ho, Span<float> col)
    {
        int plane = ho * w, imageSize = h * w;
        int row = 0;
        fixed (float* px = x, pc = col)
        {
            for (int ch = 0; ch < c; ch++)
            {
                float* image = px + (nint)ch * imageSize;
                for (int ki = 0; ki < kh; ki++)
                {
                    var (rowLo, rowHi) = ValidRows(h, ho, padH, ki);
                    for (int kj = 0; kj < kw; kj++, row++)
                    {
                        float* dst = pc + (nint)row * plane;
                        if (rowLo >= rowHi)
                        {
                            Zero(dst, plane);
                            continue;
                        }
                        // dst[t] = image[t + shift] for t in [rowLo·W, rowHi·W), clamped to the image at its two ends.
                        int shift = (ki - padH) * w + kj - padW;
                        int a = Math.Max(rowLo * w, -shift), b = Math.Min(rowHi * w, imageSize - shift);
                        Zero(dst, a);
                        Copy(image + a + shift, dst + a, b - a);
                        Zero(dst + b, plane - b);
                        var (lo, hi) = ValidColumns(w, w, 1, padW, kj);
                        if (lo == 0 && hi == w) continue;
                        for (int oy = rowLo; oy < rowHi; oy++)
                        {
                            float* r = dst + (nint)oy * w;
                            for (int i = 0; i < lo; i++) r[i] = 0f;
                            for (int i = hi; i < w; i++) r[i] = 0f;
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Copy(float* src, float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
        for (; i < n; i++) dst[i] = src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Zero(float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256<float>.Zero, dst + i);
        for (; i < n; i++) dst[i] = 0f;
    }

    private static unsafe void Col2ImSameWidth(Span<float> col, int c, int h, int w, int kh, int kw, int padH, int padW, int ho, Span<float> dx)
    {
        int plane = ho * w, imageSize = h * w;
        int row = 0;
        fixed (float* pc = col, pd = dx)
        {
            for (int ch = 0; ch < c; ch++)
            {
                float* image = pd + (nint)ch * imageSize;
                for (int ki = 0; ki < kh; ki++)
                {
                    var (rowLo, rowHi) = ValidRows(h, ho, padH, ki);
                    for (int kj = 0; kj < kw; kj++, row++)
                    {
                        if (rowLo >= rowHi) continue;
                        float* src = pc + (nint)row * plane;
                        var (lo, hi) = ValidColumns(w, w, 1, padW, kj);
                        if (lo >= hi) continue;
                        if (lo > 0 || hi < w)
                            for (int oy = rowLo; oy < rowHi; oy++)
                            {
                                float* r = src + (nint)oy * w;
                                for (int i = 0; i < lo; i++) r[i] = 0f;
                                for (int i = hi; i < w; i++) r[i] = 0f;
                            }
                        // image[t + shift] += src[t] for t in [rowLo·W, rowHi·W), clamped to the image; the zeroed padding
                        // columns add nothing, and each pixel gets the same sums in the same (ki, kj) order as the general loop.
                        int shift = (ki - padH) * w + kj - padW;
                        int a = Math.Max(rowLo * w, -shift), b = Math.Min(rowHi * w, imageSize - shift);
                        AddInto(src + a, image + a + shift, b - a);
                    }
                }
            }
        }
    }

    /// <summary>dst[i] += src[i], i &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddInto(float* src, float* dst, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(dst + i) + Vector256.Load(src + i), dst + i);
        for (; i < n; i++) dst[i] += src[i];
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
