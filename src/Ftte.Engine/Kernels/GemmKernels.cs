using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ftte.Engine.Kernels;

/// <summary>
/// The register-tiled micro-kernels and the panel packing behind <see cref="Gemm"/>.
/// <para>
/// Packed layouts (Goto/BLIS), both KC deep:
///   A panel: MR rows of op(A) interleaved by depth, a[p·MR + r] = op(A)[i₀ + r, p₀ + p];
///   B panel: NR columns of op(B) row by row,         b[p·NR + j] = op(B)[p₀ + p, j₀ + j].
/// Rows/columns past the matrix edge are zero, so an edge tile runs the same full micro-kernel.
/// </para>
/// </summary>
internal static class GemmKernels
{
    /// <summary>Largest MR×NR of any micro-tile: the size of the scratch tile edge tiles are computed into.</summary>
    public const int MaxTileFloats = 8 * 32;

    /// <summary>
    /// One micro-kernel: (MR,kc) packed A × (kc,NR) B → the MR×NR tile of C at c (row stride ldc), stored (add false)
    /// or added to what is there. Accumulators start at zero, so the sum of the kc products is formed before it meets C.
    /// A struct with static abstract members: the generic driver is specialised per tile with no indirect calls.
    /// </summary>
    public interface IMicroTile
    {
        static abstract int MR { get; }
        static abstract int NR { get; }
        /// <param name="bStride">Floats from one depth step's NR values of B to the next: NR for a packed panel, ldb when the
        /// micro-kernel reads a row-major B in place.</param>
        static abstract unsafe void Run(int kc, float* a, float* b, nint bStride, float* c, nint ldc, bool add);
    }

    /// <summary>
    /// 8×32 tile for AVX-512: (8,kc) × (kc,32) → (8,32) in 16 zmm accumulators.
    /// Why this shape: per depth step it does 16 FMAs against 2 vector loads of B and 8 broadcasts of A, enough
    /// independent accumulators (16) to cover the FMA latency×throughput product (4 cycles × up to 2 per cycle), and
    /// 16 + 2 + 1 = 19 of the 32 zmm registers so nothing spills. 8 rows divide the engine's batch sizes and channel counts.
    /// </summary>
    public readonly struct Tile512 : IMicroTile
    {
        public static int MR => 8;
        public static int NR => 32;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Run(int kc, float* a, float* b, nint bStride, float* c, nint ldc, bool add)
        {
            Vector512<float> c00 = default, c01 = default;
            Vector512<float> c10 = default, c11 = default;
            Vector512<float> c20 = default, c21 = default;
            Vector512<float> c30 = default, c31 = default;
            Vector512<float> c40 = default, c41 = default;
            Vector512<float> c50 = default, c51 = default;
            Vector512<float> c60 = default, c61 = default;
            Vector512<float> c70 = default, c71 = default;
            for (int p = 0; p < kc; p++)
            {
                Vector512<float> b0 = Vector512.Load(b + 0), b1 = Vector512.Load(b + 16);
                var ai = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
                c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a[1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
                c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(a[2]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
                c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(a[3]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
                c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(a[4]);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40);
                c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a[5]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50);
                c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(a[6]);
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60);
                c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(a[7]);
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70);
                c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
                a += 8;
                b += bStride;
            }
            Store(c + 0, c00, add); Store(c + 16, c01, add); c += ldc;
            Store(c + 0, c10, add); Store(c + 16, c11, add); c += ldc;
            Store(c + 0, c20, add); Store(c + 16, c21, add); c += ldc;
            Store(c + 0, c30, add); Store(c + 16, c31, add); c += ldc;
            Store(c + 0, c40, add); Store(c + 16, c41, add); c += ldc;
            Store(c + 0, c50, add); Store(c + 16, c51, add); c += ldc;
            Store(c + 0, c60, add); Store(c + 16, c61, add); c += ldc;
            Store(c + 0, c70, add); Store(c + 16, c71, add);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe void Store(float* c, Vector512<float> sum, bool add)
        {
            if (add) sum += Vector512.Load(c);
            sum.Store(c);
        }
    }

    /// <summary>
    /// 6×16 tile for AVX2+FMA: (6,kc) × (kc,16) → (6,16) in 12 ymm accumulators.
    /// Why this shape: AVX2 has 16 ymm registers; 12 accumulators + 2 B vectors + 1 broadcast = 15 fit without spilling,
    /// and 12 independent FMAs per depth step cover the FMA pipeline (the classic Haswell sgemm tile).
    /// </summary>
    public readonly struct Tile256 : IMicroTile
    {
        public static int MR => 6;
        public static int NR => 16;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe void Run(int kc, float* a, float* b, nint bStride, float* c, nint ldc, bool add)
        {
            Vector256<float> c00 = default, c01 = default;
            Vector256<float> c10 = default, c11 = default;
            Vector256<float> c20 = default, c21 = default;
            Vector256<float> c30 = default, c31 = default;
            Vector256<float> c40 = default, c41 = default;
            Vector256<float> c50 = default, c51 = default;
            for (int p = 0; p < kc; p++)
            {
                Vector256<float> b0 = Vector256.Load(b + 0), b1 = Vector256.Load(b + 8);
                var ai = Vector256.Create(a[0]);
                c00 = Vector256.FusedMultiplyAdd(ai, b0, c00);
                c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector256.Create(a[1]);
                c10 = Vector256.FusedMultiplyAdd(ai, b0, c10);
                c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector256.Create(a[2]);
                c20 = Vector256.FusedMultiplyAdd(ai, b0, c20);
                c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector256.Create(a[3]);
                c30 = Vector256.FusedMultiplyAdd(ai, b0, c30);
                c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector256.Create(a[4]);
                c40 = Vector256.FusedMultiplyAdd(ai, b0, c40);
                c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector256.Create(a[5]);
                c50 = Vector256.FusedMultiplyAdd(ai, b0, c50);
                c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
                a += 6;
                b += bStride;
            }
            Store(c + 0, c00, add); Store(c + 8, c01, add); c += ldc;
            Store(c + 0, c10, add); Store(c + 8, c11, add); c += ldc;
            Store(c + 0, c20, add); Store(c + 8, c21, add); c += ldc;
            Store(c + 0, c30, add); Store(c + 8, c31, add); c += ldc;
            Store(c + 0, c40, add); Store(c + 8, c41, add); c += ldc;
            Store(c + 0, c50, add); Store(c + 8, c51, add);
        }
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe void Store(float* c, Vector256<float> sum, bool add)
        {
            if (add) sum += Vector256.Load(c);
            sum.Store(c);
        }
    }

    /// <summary>
    /// Packs op(A)[i₀.., p₀..] (mc×kc) into MR-row panels: panel r holds rows i₀+r·MR.. interleaved by depth, so the micro-kernel
    /// reads its MR broadcasts for one depth step from one contiguous run.
    /// </summary>
    public static unsafe void PackA(bool transA, float* a, int lda, int i0, int p0, int mc, int kc, int mr, float* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* panel = dst + (nint)ir * kc;
            if (transA)
            {
                // A stored k×m: op(A)[i, p] = a[p·lda + i], so each depth step is a contiguous run of MR values.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (nint)(p0 + p) * lda + i0 + ir;
                    float* d = panel + (nint)p * mr;
                    int r = 0;
                    for (; r < rows; r++) d[r] = src[r];
                    for (; r < mr; r++) d[r] = 0;
                }
            }
            else
            {
                // A stored m×k: the panel wants it transposed (depth-major). Full 8-row panels go through 8×8 register
                // transposes (8 loads, 24 shuffles, 8 stores per 64 floats, against 64 scattered scalar stores); the rest
                // is copied in 8-deep blocks so the writes of a block stay within a few cache lines.
                int p = 0;
                if (mr == 8 && rows == 8)
                {
                    float* src = a + (nint)(i0 + ir) * lda + p0;
                    for (; p + 8 <= kc; p += 8) Transpose8x8(src + p, lda, panel + (nint)p * 8, 8);
                }
                for (int pb = p; pb < kc; pb += 8)
                {
                    int pe = Math.Min(pb + 8, kc);
                    for (int r = 0; r < rows; r++)
                    {
                        float* src = a + (nint)(i0 + ir + r) * lda + p0;
                        for (int q = pb; q < pe; q++) panel[(nint)q * mr + r] = src[q];
                    }
                    for (int r = rows; r < mr; r++)
                        for (int q = pb; q < pe; q++) panel[(nint)q * mr + r] = 0;
                }
            }
        }
    }

    /// <summary>
    /// Packs op(B)[p₀.., j₀..] (kc×nc) into NR-column panels: panel j holds columns j₀+j·NR.. row by row, so the micro-kernel
    /// loads its NR/lanes vectors for one depth step from one contiguous run.
    /// </summary>
    public static unsafe void PackB(bool transB, float* b, int ldb, int p0, int j0, int kc, int nc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* panel = dst + (nint)jr * kc;
            if (transB)
            {
                // B stored n×k: op(B)[p, j] = b[j·ldb + p], a transpose. Groups of 8 columns go through 8×8 register
                // transposes straight into the panel (row stride NR); a last partial group is copied element by element.
                int jg = 0;
                for (; jg + 8 <= cols; jg += 8)
                {
                    float* src = b + (nint)(j0 + jr + jg) * ldb + p0;
                    int p = 0;
                    for (; p + 8 <= kc; p += 8) Transpose8x8(src + p, ldb, panel + (nint)p * nr + jg, nr);
                    for (int j = 0; j < 8; j++)
                        for (int q = p; q < kc; q++) panel[(nint)q * nr + jg + j] = src[(nint)j * ldb + q];
                }
                for (int j = jg; j < cols; j++)
                {
                    float* src = b + (nint)(j0 + jr + j) * ldb + p0;
                    for (int p = 0; p < kc; p++) panel[(nint)p * nr + j] = src[p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) panel[(nint)p * nr + j] = 0;
            }
            else if (cols == nr)
            {
                // B stored k×n: each depth step is a contiguous run of NR values; copy it 8 floats at a time
                // (both SIMD paths imply Vector256 hardware, and NR is a multiple of 8).
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (nint)(p0 + p) * ldb + j0 + jr;
                    float* d = panel + (nint)p * nr;
                    for (int j = 0; j < nr; j += 8) Vector256.Store(Vector256.Load(src + j), d + j);
                }
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (nint)(p0 + p) * ldb + j0 + jr;
                    float* d = panel + (nint)p * nr;
                    int j = 0;
                    for (; j < cols; j++) d[j] = src[j];
                    for (; j < nr; j++) d[j] = 0;
                }
            }
        }
    }

    /// <summary>
    /// dst[q, r] = src[r, q] for an 8×8 block (row strides in floats): the classic AVX transpose — unpack pairs of rows,
    /// shuffle pairs of pairs, then swap 128-bit halves. Both SIMD paths imply AVX.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        Debug.Assert(Avx.IsSupported);
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride),
            r2 = Avx.LoadVector256(src + 2 * srcStride), r3 = Avx.LoadVector256(src + 3 * srcStride),
            r4 = Avx.LoadVector256(src + 4 * srcStride), r5 = Avx.LoadVector256(src + 5 * srcStride),
            r6 = Avx.LoadVector256(src + 6 * srcStride), r7 = Avx.LoadVector256(src + 7 * srcStride);
        // t0 = [a00 a10 a01 a11 | a04 a14 a05 a15], t1 = [a02 a12 a03 a13 | a06 a16 a07 a17], …
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3),
            t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        // u0 = [a00 a10 a20 a30 | a04 a14 a24 a34], u1 = [a01 a11 a21 a31 | a05 …], …
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE),
            u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        // Low halves of (u0, u4) make column 0, high halves column 4; and so on.
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }
}
