using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ftte.Engine.Kernels;

/// <summary>
/// Dot-product kernels for C = A·Bᵀ with A stored m×k and B stored n×k (both rows unit-stride along k): no packing at all.
/// Used by <see cref="Gemm"/> when n or m is too small for the packed micro-tile to pay off (a convolution's weight gradient,
/// (Cout, Ho·Wo) × (K, Ho·Wo)ᵀ with K = 9, is 8×9 outputs over a depth of 784: a 32-wide tile would be 72% padding and
/// the transposing pack of B would cost as much as the arithmetic).
/// Each C element is (C₀ +) [its vector accumulator, the last k mod lanes products included by one masked load, folded to
/// 4 lanes by adding halves and the 4 lanes summed pairwise, (l₀+l₁)+(l₂+l₃)], on full and edge tiles alike, so its value
/// does not depend on where it falls in the tiling.
/// Why masked tails and a horizontal-add tree: at LeNet conv2's dW depth (196 = 12·16 + 4) the old per-element scalar tail
/// and 16 separate Vector.Sum reductions cost as much as the vector loop; a tile now ends with 16 more FMAs and three
/// horizontal adds per row, storing each row's 4 results as one Vector128.
/// </summary>
internal static class GemmDotKernels
{
    public interface IDotTile
    {
        static abstract int Rows { get; }
        static abstract int Cols { get; }
        /// <summary>Rows×Cols dot products: C[r, q] (+)= A[r, :] · B[q, :].</summary>
        static abstract unsafe void Tile(int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add);
        /// <summary>One dot product: *c (+)= a[:k] · b[:k].</summary>
        static abstract unsafe void Single(int k, float* a, float* b, float* c, bool add);
    }

    public readonly struct Dot512 : IDotTile
    {
        public static int Rows => 4;
        public static int Cols => 4;
        public static unsafe void Tile(int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add) => DotTile512(k, a, lda, b, ldb, c, ldc, add);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Single(int k, float* a, float* b, float* c, bool add)
        {
            Vector512<float> s = default;
            int p = 0;
            for (; p + 16 <= k; p += 16) s = Vector512.FusedMultiplyAdd(Vector512.Load(a + p), Vector512.Load(b + p), s);
            if (p < k)
            {
                var mask = TailMask512(k - p);
                s = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(a + p, mask, default), Avx512F.MaskLoad(b + p, mask, default), s);
            }
            Store(SumOne(Fold(s)), c, add);
        }
    }

    /// <summary>2×4 for AVX2: 8 accumulators + 2 A rows + 1 B row in 16 ymm registers.</summary>
    public readonly struct Dot256 : IDotTile
    {
        public static int Rows => 2;
        public static int Cols => 4;
        public static unsafe void Tile(int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add) => DotTile256(k, a, lda, b, ldb, c, ldc, add);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Single(int k, float* a, float* b, float* c, bool add)
        {
            Vector256<float> s = default;
            int p = 0;
            for (; p + 8 <= k; p += 8) s = Vector256.FusedMultiplyAdd(Vector256.Load(a + p), Vector256.Load(b + p), s);
            if (p < k)
            {
                var mask = TailMask256(k - p);
                s = Vector256.FusedMultiplyAdd(Avx.MaskLoad(a + p, mask), Avx.MaskLoad(b + p, mask), s);
            }
            Store(SumOne(Fold(s)), c, add);
        }
    }

    /// <summary>
    /// 4×4 tile of dot products: (A rows i..i+4) · (B rows j..j+4)ᵀ over k → C[4×4] with 16 Vector512 accumulators,
    /// 4+4 loads per 16 FMAs; the k mod 16 tail is one masked step, then each row's 4 accumulators reduce to one Vector128.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void DotTile512(int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add)
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default;
        Vector512<float> s30 = default, s31 = default, s32 = default, s33 = default;
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            Vector512<float> a0 = Vector512.Load(a + p), a1 = Vector512.Load(a + 1 * lda + p), a2 = Vector512.Load(a + 2 * lda + p), a3 = Vector512.Load(a + 3 * lda + p);
            var bj = Vector512.Load(b + p);
            s00 = Vector512.FusedMultiplyAdd(a0, bj, s00);
            s10 = Vector512.FusedMultiplyAdd(a1, bj, s10);
            s20 = Vector512.FusedMultiplyAdd(a2, bj, s20);
            s30 = Vector512.FusedMultiplyAdd(a3, bj, s30);
            bj = Vector512.Load(b + 1 * ldb + p);
            s01 = Vector512.FusedMultiplyAdd(a0, bj, s01);
            s11 = Vector512.FusedMultiplyAdd(a1, bj, s11);
            s21 = Vector512.FusedMultiplyAdd(a2, bj, s21);
            s31 = Vector512.FusedMultiplyAdd(a3, bj, s31);
            bj = Vector512.Load(b + 2 * ldb + p);
            s02 = Vector512.FusedMultiplyAdd(a0, bj, s02);
            s12 = Vector512.FusedMultiplyAdd(a1, bj, s12);
            s22 = Vector512.FusedMultiplyAdd(a2, bj, s22);
            s32 = Vector512.FusedMultiplyAdd(a3, bj, s32);
            bj = Vector512.Load(b + 3 * ldb + p);
            s03 = Vector512.FusedMultiplyAdd(a0, bj, s03);
            s13 = Vector512.FusedMultiplyAdd(a1, bj, s13);
            s23 = Vector512.FusedMultiplyAdd(a2, bj, s23);
            s33 = Vector512.FusedMultiplyAdd(a3, bj, s33);
        }
        if (p < k)
        {
            // The last k − p < 16 products: lanes past k load as zero (and masked lanes never fault).
            var mask = TailMask512(k - p);
            Vector512<float> a0 = Avx512F.MaskLoad(a + p, mask, default), a1 = Avx512F.MaskLoad(a + 1 * lda + p, mask, default),
                a2 = Avx512F.MaskLoad(a + 2 * lda + p, mask, default), a3 = Avx512F.MaskLoad(a + 3 * lda + p, mask, default);
                var bj = Avx512F.MaskLoad(b + p, mask, default);
                s00 = Vector512.FusedMultiplyAdd(a0, bj, s00);
                s10 = Vector512.FusedMultiplyAdd(a1, bj, s10);
                s20 = Vector512.FusedMultiplyAdd(a2, bj, s20);
                s30 = Vector512.FusedMultiplyAdd(a3, bj, s30);
                bj = Avx512F.MaskLoad(b + 1 * ldb + p, mask, default);
                s01 = Vector512.FusedMultiplyAdd(a0, bj, s01);
                s11 = Vector512.FusedMultiplyAdd(a1, bj, s11);
                s21 = Vector512.FusedMultiplyAdd(a2, bj, s21);
                s31 = Vector512.FusedMultiplyAdd(a3, bj, s31);
                bj = Avx512F.MaskLoad(b + 2 * ldb + p, mask, default);
                s02 = Vector512.FusedMultiplyAdd(a0, bj, s02);
                s12 = Vector512.FusedMultiplyAdd(a1, bj, s12);
                s22 = Vector512.FusedMultiplyAdd(a2, bj, s22);
                s32 = Vector512.FusedMultiplyAdd(a3, bj, s32);
                bj = Avx512F.MaskLoad(b + 3 * ldb + p, mask, default);
                s03 = Vector512.FusedMultiplyAdd(a0, bj, s03);
                s13 = Vector512.FusedMultiplyAdd(a1, bj, s13);
                s23 = Vector512.FusedMultiplyAdd(a2, bj, s23);
                s33 = Vector512.FusedMultiplyAdd(a3, bj, s33);
        }
        Store(SumFour(Fold(s00), Fold(s01), Fold(s02), Fold(s03)), c + 0 * ldc, add);
        Store(SumFour(Fold(s10), Fold(s11), Fold(s12), Fold(s13)), c + 1 * ldc, add);
        Store(SumFour(Fold(s20), Fold(s21), Fold(s22), Fold(s23)), c + 2 * ldc, add);
        Store(SumFour(Fold(s30), Fold(s31), Fold(s32), Fold(s33)), c + 3 * ldc, add);
    }

    /// <summary>
    /// 2×4 tile of dot products: (A rows i..i+2) · (B rows j..j+4)ᵀ over k → C[2×4] with 8 Vector256 accumulators,
    /// 2+4 loads per 8 FMAs; the k mod 8 tail is one masked step, then each row's 4 accumulators reduce to one Vector128.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void DotTile256(int k, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add)
    {
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
        int p = 0;
        for (; p + 8 <= k; p += 8)
        {
            Vector256<float> a0 = Vector256.Load(a + p), a1 = Vector256.Load(a + 1 * lda + p);
            var bj = Vector256.Load(b + p);
            s00 = Vector256.FusedMultiplyAdd(a0, bj, s00);
            s10 = Vector256.FusedMultiplyAdd(a1, bj, s10);
            bj = Vector256.Load(b + 1 * ldb + p);
            s01 = Vector256.FusedMultiplyAdd(a0, bj, s01);
            s11 = Vector256.FusedMultiplyAdd(a1, bj, s11);
            bj = Vector256.Load(b + 2 * ldb + p);
            s02 = Vector256.FusedMultiplyAdd(a0, bj, s02);
            s12 = Vector256.FusedMultiplyAdd(a1, bj, s12);
            bj = Vector256.Load(b + 3 * ldb + p);
            s03 = Vector256.FusedMultiplyAdd(a0, bj, s03);
            s13 = Vector256.FusedMultiplyAdd(a1, bj, s13);
        }
        if (p < k)
        {
            var mask = TailMask256(k - p);
            Vector256<float> a0 = Avx.MaskLoad(a + p, mask), a1 = Avx.MaskLoad(a + 1 * lda + p, mask);
                var bj = Avx.MaskLoad(b + p, mask);
                s00 = Vector256.FusedMultiplyAdd(a0, bj, s00);
                s10 = Vector256.FusedMultiplyAdd(a1, bj, s10);
                bj = Avx.MaskLoad(b + 1 * ldb + p, mask);
                s01 = Vector256.FusedMultiplyAdd(a0, bj, s01);
                s11 = Vector256.FusedMultiplyAdd(a1, bj, s11);
                bj = Avx.MaskLoad(b + 2 * ldb + p, mask);
                s02 = Vector256.FusedMultiplyAdd(a0, bj, s02);
                s12 = Vector256.FusedMultiplyAdd(a1, bj, s12);
                bj = Avx.MaskLoad(b + 3 * ldb + p, mask);
                s03 = Vector256.FusedMultiplyAdd(a0, bj, s03);
                s13 = Vector256.FusedMultiplyAdd(a1, bj, s13);
        }
        Store(SumFour(Fold(s00), Fold(s01), Fold(s02), Fold(s03)), c + 0 * ldc, add);
        Store(SumFour(Fold(s10), Fold(s11), Fold(s12), Fold(s13)), c + 1 * ldc, add);
    }

    /// <summary>All-ones in the first <paramref name="count"/> (1..15) lanes: the masked tail of a 16-lane loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TailMask512(int count) => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();

    /// <summary>All-ones in the first <paramref name="count"/> (1..7) lanes: the masked tail of an 8-lane loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> TailMask256(int count) => Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();

    /// <summary>16 lanes → 4 by adding halves: (lo + hi) twice.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fold(Vector512<float> s) => Fold(s.GetLower() + s.GetUpper());

    /// <summary>8 lanes → 4: lo + hi.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Fold(Vector256<float> s) => s.GetLower() + s.GetUpper();

    /// <summary>[Σv₀, Σv₁, Σv₂, Σv₃], each (l₀+l₁)+(l₂+l₃), by two rounds of horizontal adds (both SIMD paths imply SSE3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> SumFour(Vector128<float> v0, Vector128<float> v1, Vector128<float> v2, Vector128<float> v3) =>
        Sse3.HorizontalAdd(Sse3.HorizontalAdd(v0, v1), Sse3.HorizontalAdd(v2, v3));

    /// <summary>(l₀+l₁)+(l₂+l₃): the same sum <see cref="SumFour"/> forms in each of its lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SumOne(Vector128<float> v)
    {
        var h = Sse3.HorizontalAdd(v, v);
        return Sse3.HorizontalAdd(h, h).ToScalar();
    }

    /// <summary>Stores four results into, or adds them to, C[0..4].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(Vector128<float> sums, float* c, bool add)
    {
        if (add) sums += Vector128.Load(c);
        sums.Store(c);
    }

    /// <summary>Stores one result into, or adds it to, *c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float sum, float* c, bool add) => *c = add ? *c + sum : sum;
}
