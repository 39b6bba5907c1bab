using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ftte.Engine.Kernels;

/// <summary>
/// Max pooling over 2×2 windows at stride 2, the LeNet/VGG case, branch-free and vectorised.
/// <para>
/// Why: a scalar arg-max loop branches on every comparison, and on activations those branches are coin flips; the
/// mispredictions made the generic loop cost ~15 ns per output, more than both LeNet convolutions' GEMMs.
/// Here every window is max(max(x₀₀, x₀₁), max(x₁₀, x₁₁)) with blends, 8 windows per Vector256 (4 per Vector128).
/// </para>
/// <para>
/// Ties and order: "take the right (or lower) value only when strictly greater", row first, then column — the same
/// winner as scanning the window in row-major order with a strict &gt; (the generic loop), for any non-NaN input.
/// The scalar path uses the same two-step order, so both paths give identical values and indices.
/// </para>
/// </summary>
internal static class PoolKernels
{
    /// <summary>Whether <see cref="MaxPool2x2"/> can run its vector body on this machine.</summary>
    public static bool VectorSupported => Avx2.IsSupported;

    /// <summary>
    /// (P, H, W) → (P, ⌊H/2⌋, ⌊W/2⌋): y = the max of each 2×2 window; <paramref name="argMax"/> (empty: not wanted) gets
    /// the winner's flat index h·W + w within its input plane. A ragged last row or column (odd H or W) is left out.
    /// </summary>
    public static unsafe void MaxPool2x2(ReadOnlySpan<float> x, int planes, int h, int w, Span<float> y, Span<int> argMax, bool useVector)
    {
        int ho = h / 2, wo = w / 2;
        if ((long)planes * h * w > x.Length || (long)planes * ho * wo > y.Length) ThrowTooShort();
        bool save = !argMax.IsEmpty;
        if (save && (long)planes * ho * wo > argMax.Length) ThrowTooShort();
        bool vector = useVector && VectorSupported;
        int dummy = 0;
        fixed (float* px = x, py = y)
        fixed (int* pi = argMax)
        {
            for (int p = 0; p < planes; p++)
                for (int oh = 0; oh < ho; oh++)
                {
                    int rowBase = 2 * oh * w;   // index of the window row's first element within the plane
                    float* top = px + (nint)p * h * w + rowBase;
                    nint o = (nint)p * ho * wo + (nint)oh * wo;
                    int* index = save ? pi + o : &dummy;
                    int ow = vector ? VectorRow(top, w, rowBase, wo, py + o, index, save) : 0;
                    for (; ow < wo; ow++)
                    {
                        float* t = top + 2 * ow;
                        float tMax = t[0]; int tCol = 0;
                        if (t[1] > tMax) { tMax = t[1]; tCol = 1; }
                        float bMax = t[w]; int bCol = 0;
                        if (t[w + 1] > bMax) { bMax = t[w + 1]; bCol = 1; }
                        int at = rowBase + 2 * ow + tCol;
                        if (bMax > tMax) { tMax = bMax; at = rowBase + w + 2 * ow + bCol; }
                        py[o + ow] = tMax;
                        if (save) index[ow] = at;
                    }
                }
        }
    }

    /// <summary>
    /// The vector body for one output row; returns the first output column left for the scalar tail (0 when the row is
    /// narrower than 4 windows). Rows of 8 or more windows take 8-window steps, and a ragged end one more step ending at the
    /// last window; rows of 4–7 take two 4-window steps, the first and last four. Overlapping steps rewrite a few windows with
    /// the same values — cheaper than a scalar tail, whose branches on activations are coin flips (LeNet's 7-wide rows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int VectorRow(float* top, int w, int rowBase, int wo, float* y, int* index, bool save)
    {
        if (wo >= 8)
        {
            int ow = 0;
            for (; ow + 8 <= wo; ow += 8) Windows8(top, w, rowBase, ow, y, index, save);
            if (ow < wo) Windows8(top, w, rowBase, wo - 8, y, index, save);
            return wo;
        }
        if (wo >= 4)
        {
            Windows4(top, w, rowBase, 0, y, index, save);
            Windows4(top, w, rowBase, wo - 4, y, index, save);
            return wo;
        }
        return 0;
    }

    /// <summary>
    /// Windows ow..ow+8 of one output row from 16 floats of each input row. Shuffle splits 16 floats into even and odd columns
    /// (in 128-bit-lane order, undone at the end by one 64-bit permute), compare-and-blend picks each row's max and then the
    /// window's, and the masks give the index.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Windows8(float* top, int w, int rowBase, int ow, float* y, int* index, bool save)
    {
        float* bottom = top + w;
        Vector256<float> a = Avx.LoadVector256(top + 2 * ow), b = Avx.LoadVector256(top + 2 * ow + 8);
        Vector256<float> even = Avx.Shuffle(a, b, 0b10_00_10_00), odd = Avx.Shuffle(a, b, 0b11_01_11_01);
        var topOdd = Avx.CompareGreaterThan(odd, even);
        var topMax = Avx.BlendVariable(even, odd, topOdd);
        a = Avx.LoadVector256(bottom + 2 * ow);
        b = Avx.LoadVector256(bottom + 2 * ow + 8);
        even = Avx.Shuffle(a, b, 0b10_00_10_00);
        odd = Avx.Shuffle(a, b, 0b11_01_11_01);
        var bottomOdd = Avx.CompareGreaterThan(odd, even);
        var bottomMax = Avx.BlendVariable(even, odd, bottomOdd);
        var down = Avx.CompareGreaterThan(bottomMax, topMax);
        var max = Avx.BlendVariable(topMax, bottomMax, down);
        // Lanes hold windows 0 1 4 5 | 2 3 6 7: swap the middle 64-bit pairs back.
        Avx.Store(y + ow, Avx2.Permute4x64(max.AsDouble(), 0b11_01_10_00).AsSingle());
        if (!save) return;
        var odds = Avx.BlendVariable(topOdd, bottomOdd, down);   // all ones where the right column won
        var col = Avx2.Permute4x64(odds.AsInt64(), 0b11_01_10_00).AsInt32();
        var row = Avx2.Permute4x64(down.AsInt64(), 0b11_01_10_00).AsInt32();
        // Window j's top-left element is rowBase + 2·(ow + j); a −1 mask adds the column, the row mask adds W.
        var at = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14) + Vector256.Create(rowBase + 2 * ow) - col + (row & Vector256.Create(w));
        Avx.Store(index + ow, at);
    }

    /// <summary>Windows ow..ow+4 as <see cref="Windows8"/> with 128-bit vectors, where the even/odd shuffle is already in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Windows4(float* top, int w, int rowBase, int ow, float* y, int* index, bool save)
    {
        float* bottom = top + w;
        Vector128<float> a = Sse.LoadVector128(top + 2 * ow), b = Sse.LoadVector128(top + 2 * ow + 4);
        Vector128<float> even = Sse.Shuffle(a, b, 0b10_00_10_00), odd = Sse.Shuffle(a, b, 0b11_01_11_01);
        var topOdd = Sse.CompareGreaterThan(odd, even);
        var topMax = Sse41.BlendVariable(even, odd, topOdd);
        a = Sse.LoadVector128(bottom + 2 * ow);
        b = Sse.LoadVector128(bottom + 2 * ow + 4);
        even = Sse.Shuffle(a, b, 0b10_00_10_00);
        odd = Sse.Shuffle(a, b, 0b11_01_11_01);
        var bottomOdd = Sse.CompareGreaterThan(odd, even);
        var bottomMax = Sse41.BlendVariable(even, odd, bottomOdd);
        var down = Sse.CompareGreaterThan(bottomMax, topMax);
        Sse.Store(y + ow, Sse41.BlendVariable(topMax, bottomMax, down));
        if (!save) return;
        var col = Sse41.BlendVariable(topOdd, bottomOdd, down).AsInt32();
        var at = Vector128.Create(0, 2, 4, 6) + Vector128.Create(rowBase + 2 * ow) - col + (down.AsInt32() & Vector128.Create(w));
        Sse2.Store(index + ow, at);
    }

    /// <summary>
    /// The adjoint of <see cref="MaxPool2x2"/> as the first writer of dx: every element of (P, H, W) <paramref name="dx"/> is
    /// written — dy[o] at window o's arg-max, 0 at its other three elements and on a ragged last row or column — so the
    /// buffer needs no clearing first and is never read. The vector body builds each window's two dx pairs by duplicating
    /// its dy and arg-max into adjacent lanes and comparing with the lanes' own positions; no scatter, no branches.
    /// </summary>
    public static unsafe void MaxPool2x2BackwardOverwrite(ReadOnlySpan<float> dy, ReadOnlySpan<int> argMax, int planes, int h, int w, Span<float> dx, bool useVector)
    {
        int ho = h / 2, wo = w / 2;
        if ((long)planes * h * w > dx.Length || (long)planes * ho * wo > dy.Length || (long)planes * ho * wo > argMax.Length) ThrowTooShort();
        bool vector = useVector && VectorSupported;
        fixed (float* pdy = dy, pdx = dx)
        fixed (int* pi = argMax)
        {
            for (int p = 0; p < planes; p++)
            {
                float* plane = pdx + (nint)p * h * w;
                for (int oh = 0; oh < ho; oh++)
                {
                    int rowBase = 2 * oh * w;
                    nint o = (nint)p * ho * wo + (nint)oh * wo;
                    float* g = pdy + o;
                    int* index = pi + o;
                    int ow = 0;
                    if (vector && wo >= 8)
                    {
                        for (; ow + 8 <= wo; ow += 8) Spread8(g, index, plane, rowBase, w, ow);
                        if (ow < wo) Spread8(g, index, plane, rowBase, w, wo - 8);
                        ow = wo;
                    }
                    else if (vector && wo >= 4)
                    {
                        Spread4(g, index, plane, rowBase, w, 0);
                        Spread4(g, index, plane, rowBase, w, wo - 4);
                        ow = wo;
                    }
                    for (; ow < wo; ow++)
                    {
                        float* t = plane + rowBase + 2 * ow;
                        t[0] = t[1] = t[w] = t[w + 1] = 0f;
                        plane[index[ow]] = g[ow];
                    }
                    if (2 * wo < w)
                    {
                        plane[rowBase + w - 1] = 0f;
                        plane[rowBase + 2 * w - 1] = 0f;
                    }
                }
                if (2 * ho < h) new Span<float>(plane + (nint)(h - 1) * w, w).Clear();
            }
        }
    }

    /// <summary>dx of windows ow..ow+8 (16 columns of two rows) from their dy and arg-max, see <see cref="MaxPool2x2BackwardOverwrite"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Spread8(float* g, int* index, float* plane, int rowBase, int w, int ow)
    {
        Vector256<float> grad = Avx.LoadVector256(g + ow);
        Vector256<int> at = Avx.LoadVector256(index + ow);
        var lowPairs = Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3);
        var highPairs = Vector256.Create(4, 4, 5, 5, 6, 6, 7, 7);
        Vector256<float> gLow = Avx2.PermuteVar8x32(grad, lowPairs), gHigh = Avx2.PermuteVar8x32(grad, highPairs);
        Vector256<int> atLow = Avx2.PermuteVar8x32(at, lowPairs), atHigh = Avx2.PermuteVar8x32(at, highPairs);
        // Lane positions within the plane: the top row's 16 columns from rowBase + 2·ow, the bottom row's W further on.
        var top = Vector256.Create(rowBase + 2 * ow) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var eight = Vector256.Create(8);
        var down = Vector256.Create(w);
        float* t = plane + rowBase + 2 * ow;
        Avx.Store(t, Vector256.ConditionalSelect(Vector256.Equals(atLow, top).AsSingle(), gLow, default));
        Avx.Store(t + 8, Vector256.ConditionalSelect(Vector256.Equals(atHigh, top + eight).AsSingle(), gHigh, default));
        Avx.Store(t + w, Vector256.ConditionalSelect(Vector256.Equals(atLow, top + down).AsSingle(), gLow, default));
        Avx.Store(t + w + 8, Vector256.ConditionalSelect(Vector256.Equals(atHigh, top + down + eight).AsSingle(), gHigh, default));
    }

    /// <summary><see cref="Spread8"/> for 4 windows with 128-bit vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Spread4(float* g, int* index, float* plane, int rowBase, int w, int ow)
    {
        Vector128<float> grad = Sse.LoadVector128(g + ow);
        Vector128<int> at = Sse2.LoadVector128(index + ow);
        Vector128<float> gLow = Sse.Shuffle(grad, grad, 0b01_01_00_00), gHigh = Sse.Shuffle(grad, grad, 0b11_11_10_10);
        Vector128<int> atLow = Sse2.Shuffle(at, 0b01_01_00_00), atHigh = Sse2.Shuffle(at, 0b11_11_10_10);
        var top = Vector128.Create(rowBase + 2 * ow) + Vector128.Create(0, 1, 2, 3);
        var four = Vector128.Create(4);
        var down = Vector128.Create(w);
        float* t = plane + rowBase + 2 * ow;
        Sse.Store(t, Vector128.ConditionalSelect(Vector128.Equals(atLow, top).AsSingle(), gLow, default));
        Sse.Store(t + 4, Vector128.ConditionalSelect(Vector128.Equals(atHigh, top + four).AsSingle(), gHigh, default));
        Sse.Store(t + w, Vector128.ConditionalSelect(Vector128.Equals(atLow, top + down).AsSingle(), gLow, default));
        Sse.Store(t + w + 4, Vector128.ConditionalSelect(Vector128.Equals(atHigh, top + down + four).AsSingle(), gHigh, default));
    }

    [DoesNotReturn]
    private static void ThrowTooShort() =>
        throw new ArgumentException("A span is shorter than the pooling geometry needs.");
}
