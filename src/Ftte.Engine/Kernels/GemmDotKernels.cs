using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Ftte.Engine.Kernels;

/// <summary>
/// Dot-product kernels for C = A·Bᵀ with A stored m×k and B stored n×k (both rows unit-stride along k): no packing at all.
/// Used by <see cref="Gemm"/> when n or m is too small for the packed micro-tile to pay off (a convolution's weight gradient,
/// (Cout, Ho·Wo) × (K, Ho·Wo)ᵀ with K = 9, is 8×9 outputs over a depth of 784: a 32-wide tile would be 72% padding and
/// the transposing pack of B would cost as much as the arithmetic).
/// Each C element is (C₀ +) [the lanes of its vector accumulator summed by Vector.Sum, then the k mod lanes tail in order],
/// on full and edge tiles alike, so its value does not depend on where it falls in the tiling.
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
            Finish(k, p, a, b, Vector512.Sum(s), c, add);
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
            Finish(k, p, a, b, Vector256.Sum(s), c, add);
        }
    }

    /// <summary>
    /// 4×4 tile of dot products: (A rows i..i+4) · (B rows j..j+4)ᵀ over k → C[4×4] with 16 Vector512 accumulators,
    /// 4+4 loads per 16 FMAs. Each accumulator's lanes are reduced once at the end, then the k mod 16 tail is added in order.
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
        Finish(k, p, a + 0 * lda, b + 0 * ldb, Vector512.Sum(s00), c + 0 * ldc + 0, add);
        Finish(k, p, a + 0 * lda, b + 1 * ldb, Vector512.Sum(s01), c + 0 * ldc + 1, add);
        Finish(k, p, a + 0 * lda, b + 2 * ldb, Vector512.Sum(s02), c + 0 * ldc + 2, add);
        Finish(k, p, a + 0 * lda, b + 3 * ldb, Vector512.Sum(s03), c + 0 * ldc + 3, add);
        Finish(k, p, a + 1 * lda, b + 0 * ldb, Vector512.Sum(s10), c + 1 * ldc + 0, add);
        Finish(k, p, a + 1 * lda, b + 1 * ldb, Vector512.Sum(s11), c + 1 * ldc + 1, add);
        Finish(k, p, a + 1 * lda, b + 2 * ldb, Vector512.Sum(s12), c + 1 * ldc + 2, add);
        Finish(k, p, a + 1 * lda, b + 3 * ldb, Vector512.Sum(s13), c + 1 * ldc + 3, add);
        Finish(k, p, a + 2 * lda, b + 0 * ldb, Vector512.Sum(s20), c + 2 * ldc + 0, add);
        Finish(k, p, a + 2 * lda, b + 1 * ldb, Vector512.Sum(s21), c + 2 * ldc + 1, add);
        Finish(k, p, a + 2 * lda, b + 2 * ldb, Vector512.Sum(s22), c + 2 * ldc + 2, add);
        Finish(k, p, a + 2 * lda, b + 3 * ldb, Vector512.Sum(s23), c + 2 * ldc + 3, add);
        Finish(k, p, a + 3 * lda, b + 0 * ldb, Vector512.Sum(s30), c + 3 * ldc + 0, add);
        Finish(k, p, a + 3 * lda, b + 1 * ldb, Vector512.Sum(s31), c + 3 * ldc + 1, add);
        Finish(k, p, a + 3 * lda, b + 2 * ldb, Vector512.Sum(s32), c + 3 * ldc + 2, add);
        Finish(k, p, a + 3 * lda, b + 3 * ldb, Vector512.Sum(s33), c + 3 * ldc + 3, add);
    }
    /// <summary>
    /// 2×4 tile of dot products: (A rows i..i+2) · (B rows j..j+4)ᵀ over k → C[2×4] with 8 Vector256 accumulators,
    /// 2+4 loads per 8 FMAs. Each accumulator's lanes are reduced once at the end, then the k mod 8 tail is added in order.
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
        Finish(k, p, a + 0 * lda, b + 0 * ldb, Vector256.Sum(s00), c + 0 * ldc + 0, add);
        Finish(k, p, a + 0 * lda, b + 1 * ldb, Vector256.Sum(s01), c + 0 * ldc + 1, add);
        Finish(k, p, a + 0 * lda, b + 2 * ldb, Vector256.Sum(s02), c + 0 * ldc + 2, add);
        Finish(k, p, a + 0 * lda, b + 3 * ldb, Vector256.Sum(s03), c + 0 * ldc + 3, add);
        Finish(k, p, a + 1 * lda, b + 0 * ldb, Vector256.Sum(s10), c + 1 * ldc + 0, add);
        Finish(k, p, a + 1 * lda, b + 1 * ldb, Vector256.Sum(s11), c + 1 * ldc + 1, add);
        Finish(k, p, a + 1 * lda, b + 2 * ldb, Vector256.Sum(s12), c + 1 * ldc + 2, add);
        Finish(k, p, a + 1 * lda, b + 3 * ldb, Vector256.Sum(s13), c + 1 * ldc + 3, add);
    }
    /// <summary>Adds the k mod lanes tail to a reduced dot product, then stores it into or adds it to C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Finish(int k, int p, float* a, float* b, float sum, float* c, bool add)
    {
        for (; p < k; p++) sum += a[p] * b[p];
        *c = add ? *c + sum : sum;
    }
}
