using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ftte.Engine.Kernels;

/// <summary>The instruction set a <see cref="Gemm"/> call runs on; tests and the benchmark force each one.</summary>
internal enum GemmPath
{
    /// <summary>Plain loops, no packing: any CPU.</summary>
    Scalar,
    /// <summary>Packed panels, 6×16 micro-tile of Vector256 FMAs (AVX2+FMA).</summary>
    Vector256,
    /// <summary>Packed panels, 8×32 micro-tile of Vector512 FMAs (AVX-512F).</summary>
    Vector512,
}

/// <summary>
/// Single-threaded fp32 matrix multiply, the engine's one dense kernel (linear layers, im2col convolutions):
/// <c>C[m×n] = (accumulate ? C : 0) + op(A)[m×k] · op(B)[k×n]</c>, all row-major, op(X) = X or Xᵀ.
/// <para>
/// Goto/BLIS structure: op(B) is packed into NR-wide column panels, op(A) into MR-high row panels, and a
/// register-tiled micro-kernel computes one MR×NR tile of C per (A panel, B panel) pair with FMAs
/// (see <see cref="GemmKernels"/>). Packing costs O(m·k + k·n) copies against O(m·n·k) multiply-adds and buys
/// unit-stride, cache-resident operands whatever the transposes and leading dimensions.
/// </para>
/// <para>
/// Deterministic: blocking depends only on (m, n, k) and the path, and each element of C is summed in a fixed order
/// (over p in KC-deep blocks, each block's partial sum added to C in order), so the same call gives the same bits.
/// Nothing is allocated: the caller passes <see cref="WorkspaceFloats"/> floats of packing space.
/// </para>
/// </summary>
public static class Gemm
{
    // Cache blocking, sized for a 32–48 KiB L1d and ≥ 512 KiB L2 per core:
    //   KC×NR floats of packed B (32 KiB at 256×32) are reused by every MR-row tile of the A block, so they live in L1;
    //   MC×KC floats of packed A (144 KiB) are reused by every NR-column panel, so they live in L2;
    //   KC×NC floats of packed B stream from L2/L3. NC only bounds the workspace: our n never exceeds it.
    internal const int KC = 256;
    internal const int MC = 144;   // a multiple of both micro-tile heights (6 and 8)
    internal const int NC = 2048;  // a multiple of both micro-tile widths (16 and 32)

    /// <summary>The fastest path this machine supports; <see cref="Multiply(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool, Span{float})"/> uses it.</summary>
    internal static readonly GemmPath BestPath =
        IsSupported(GemmPath.Vector512) ? GemmPath.Vector512 :
        IsSupported(GemmPath.Vector256) ? GemmPath.Vector256 : GemmPath.Scalar;

    internal static bool IsSupported(GemmPath path) => path switch
    {
        GemmPath.Scalar => true,
        // Vector*.FusedMultiplyAdd falls back to a slow software emulation without hardware FMA: require it.
        GemmPath.Vector256 => Vector256.IsHardwareAccelerated && Fma.IsSupported,
        GemmPath.Vector512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>
    /// C[m×n] (row-major, leading dimension <paramref name="ldc"/>) = (accumulate ? C : 0) + op(A)[m×k] · op(B)[k×n].
    /// op(A) is A (stored m×k, row stride <paramref name="lda"/>) or, when <paramref name="transA"/>, Aᵀ with A stored k×m; same for B.
    /// <paramref name="workspace"/> must hold at least <see cref="WorkspaceFloats"/> floats; its contents are overwritten.
    /// With accumulate false, C is overwritten without being read (NaNs in it do not propagate).
    /// </summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate, Span<float> workspace)
        => Multiply(BestPath, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, workspace);

    /// <summary>
    /// Floats of packing workspace <see cref="Multiply(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool, Span{float})"/> needs
    /// for these arguments: a pure function of them (the largest need over all paths), so a memory plan made on one
    /// machine holds on any other. 0 when there is nothing to multiply.
    /// </summary>
    public static int WorkspaceFloats(bool transA, bool transB, int m, int n, int k)
    {
        if (m < 0 || n < 0 || k < 0) ThrowHelper.NegativeDimension(m, n, k);
        return Math.Max(WorkspaceFloats(GemmPath.Vector512, transA, transB, m, n, k), WorkspaceFloats(GemmPath.Vector256, transA, transB, m, n, k));
    }

    /// <summary>Workspace of one path: one packed A block (MC rows rounded up to MR) and one packed B block (NC columns rounded up to NR), each KC deep.</summary>
    internal static int WorkspaceFloats(GemmPath path, bool transA, bool transB, int m, int n, int k) => path switch
    {
        _ when UseDotProducts(path, transA, transB, m, n, k) => 0,
        GemmPath.Vector512 => PackedFloats<GemmKernels.Tile512>(m, n, k),
        GemmPath.Vector256 => PackedFloats<GemmKernels.Tile256>(m, n, k),
        _ => 0,
    };

    /// <summary>
    /// Whether A·Bᵀ (A m×k, B n×k, both unit-stride along k) runs as unpacked dot products rather than packed tiles:
    /// when the output is too narrow or too short for the packed micro-tile (most of it would be zero padding, and the
    /// transposing pack of B would cost as much as the arithmetic). A pure function of the shape, like the workspace.
    /// </summary>
    internal static bool UseDotProducts(GemmPath path, bool transA, bool transB, int m, int n, int k)
    {
        if (path == GemmPath.Scalar || transA || !transB) return false;
        // Measured on Zen 4 (bench `gemm`): dot products win 2–14× for n < 16 (MLP output layer, conv1 dW 8×9×784) and for
        // small outputs such as 16×72 and 32×64 with deep k; packed tiles win from 32×128 outputs up (1.2–3×).
        return n < 16 || (long)m * n <= 32 * 64;
    }

    /// <summary>
    /// Whether the micro-kernel reads full NR-column panels of B straight from its rows instead of a packed copy: when B is
    /// not transposed (each depth step's NR values are already contiguous) and A has at most <see cref="InPlaceMaxRows"/>
    /// rows, so that each B panel is used by at most a few row tiles and packing it would cost about as much as using it.
    /// A pure function of the shape; the values summed and their order are the same either way, so the results are too.
    /// </summary>
    internal static bool ReadsBInPlace(bool transB, int m) => !transB && m <= InPlaceMaxRows;

    /// <summary>
    /// Measured (bench `gemm`, Zen 4): in-place B wins for LeNet's per-sample convolution GEMMs (m = 8, 16: W·cols) and
    /// batch-32 input gradients (m = 32); with more row tiles the packed panel's L1 residency pays for the copy.
    /// </summary>
    internal const int InPlaceMaxRows = 32;

    private static int PackedFloats<TTile>(int m, int n, int k) where TTile : struct, GemmKernels.IMicroTile
    {
        if (m == 0 || n == 0 || k == 0) return 0;
        int kc = Math.Min(k, KC);
        long floats = (long)RoundUp(Math.Min(m, MC), TTile.MR) * kc + (long)RoundUp(Math.Min(n, NC), TTile.NR) * kc;
        return checked((int)floats);
    }

    /// <summary><see cref="Multiply(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool, Span{float})"/> on a chosen path (tests and benchmarks).</summary>
    [SkipLocalsInit]
    internal static unsafe void Multiply(GemmPath path, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate, Span<float> workspace)
    {
        if (m < 0 || n < 0 || k < 0) ThrowHelper.NegativeDimension(m, n, k);
        CheckOperand(a, lda, transA ? k : m, transA ? m : k, nameof(a));
        CheckOperand(b, ldb, transB ? n : k, transB ? k : n, nameof(b));
        CheckOperand(c, ldc, m, n, nameof(c));
        if (!IsSupported(path)) ThrowHelper.PathNotSupported(path);
        int needed = WorkspaceFloats(path, transA, transB, m, n, k);
        if (workspace.Length < needed) ThrowHelper.WorkspaceTooSmall(workspace.Length, needed);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            // An empty sum: C = accumulate ? C : 0.
            if (!accumulate)
                for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }

        fixed (float* pa = a, pb = b, pc = c, pw = workspace)
        {
            switch (path)
            {
                case GemmPath.Vector512 when UseDotProducts(path, transA, transB, m, n, k):
                    DotProducts<GemmDotKernels.Dot512>(m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
                    break;
                case GemmPath.Vector256 when UseDotProducts(path, transA, transB, m, n, k):
                    DotProducts<GemmDotKernels.Dot256>(m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
                    break;
                case GemmPath.Vector512:
                    Blocked<GemmKernels.Tile512>(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, pw);
                    break;
                case GemmPath.Vector256:
                    Blocked<GemmKernels.Tile256>(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate, pw);
                    break;
                default:
                    Scalar(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
                    break;
            }
        }
    }

    /// <summary>
    /// The Goto/BLIS loop nest around a micro-tile: (M,K) × (K,N) → (M,N) as
    /// for each KC-deep slice of K: pack B[KC×NC]; for each MC-row block: pack A[MC×KC]; for each NR×MR tile: micro-kernel.
    /// The micro-kernel's accumulators start at zero and its tile is then stored (first K slice, no accumulate) or added to C,
    /// so every element of C is C₀ + s₁ + s₂ + … in K-slice order on full and edge tiles alike.
    /// </summary>
    [SkipLocalsInit]
    private static unsafe void Blocked<TTile>(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate, float* workspace)
        where TTile : struct, GemmKernels.IMicroTile
    {
        int mr = TTile.MR, nr = TTile.NR;
        int kcMax = Math.Min(k, KC);
        float* packA = workspace;
        float* packB = workspace + (nint)RoundUp(Math.Min(m, MC), mr) * kcMax;
        // Edge tiles (m or n not a multiple of the tile) are computed whole into this scratch tile, then their valid part is
        // copied out: the zero padding of the packed panels makes the extra rows/columns harmless.
        float* edge = stackalloc float[GemmKernels.MaxTileFloats];

        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                bool add = accumulate || pc > 0;
                // Full panels of a row-major B are read in place when B is short and wide against A (see ReadsBInPlace);
                // the rest — all of it otherwise, else only a ragged last panel — is packed.
                int inPlace = ReadsBInPlace(transB, m) ? nc / nr * nr : 0;
                GemmKernels.PackB(transB, b, ldb, pc, jc + inPlace, kc, nc - inPlace, nr, packB + (nint)inPlace * kc);
                for (int ic = 0; ic < m; ic += MC)
                {
                    int mc = Math.Min(MC, m - ic);
                    GemmKernels.PackA(transA, a, lda, ic, pc, mc, kc, mr, packA);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int nValid = Math.Min(nr, nc - jr);
                        bool direct = jr < inPlace;
                        float* bPanel = direct ? b + (nint)pc * ldb + jc + jr : packB + (nint)jr * kc;
                        nint bStride = direct ? ldb : nr;
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int mValid = Math.Min(mr, mc - ir);
                            float* aPanel = packA + (nint)ir * kc;
                            float* cTile = c + (nint)(ic + ir) * ldc + jc + jr;
                            if (mValid == mr && nValid == nr)
                            {
                                TTile.Run(kc, aPanel, bPanel, bStride, cTile, ldc, add);
                            }
                            else
                            {
                                TTile.Run(kc, aPanel, bPanel, bStride, edge, nr, add: false);
                                for (int i = 0; i < mValid; i++)
                                {
                                    float* src = edge + i * nr;
                                    float* dst = cTile + (nint)i * ldc;
                                    if (add) for (int j = 0; j < nValid; j++) dst[j] += src[j];
                                    else for (int j = 0; j < nValid; j++) dst[j] = src[j];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// (M,K) × (N,K)ᵀ → (M,N) as Rows×Cols tiles of dot products straight from A's and B's rows (see <see cref="GemmDotKernels"/>):
    /// a tile's A rows stay in L1 while B's rows stream past; edge rows and columns are single dot products.
    /// </summary>
    private static unsafe void DotProducts<TDot>(int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
        where TDot : struct, GemmDotKernels.IDotTile
    {
        int rows = TDot.Rows, cols = TDot.Cols;
        int i = 0;
        for (; i + rows <= m; i += rows)
        {
            float* ai = a + (nint)i * lda;
            float* ci = c + (nint)i * ldc;
            int j = 0;
            for (; j + cols <= n; j += cols) TDot.Tile(k, ai, lda, b + (nint)j * ldb, ldb, ci + j, ldc, accumulate);
            for (; j < n; j++)
                for (int r = 0; r < rows; r++) TDot.Single(k, ai + (nint)r * lda, b + (nint)j * ldb, ci + (nint)r * ldc + j, accumulate);
        }
        for (; i < m; i++)
            for (int j = 0; j < n; j++) TDot.Single(k, a + (nint)i * lda, b + (nint)j * ldb, c + (nint)i * ldc + j, accumulate);
    }

    /// <summary>
    /// Scalar fallback, no packing. (M,K) × (K,N) → (M,N): with op(B) = Bᵀ each C element is a dot product of two unit-stride
    /// rows (when A is not transposed); otherwise row i of C gathers a·(row p of B) updates, again unit-stride in B and C.
    /// </summary>
    private static unsafe void Scalar(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        nint aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
        for (int i = 0; i < m; i++)
        {
            float* ci = c + (nint)i * ldc;
            float* ai = a + i * aRow;
            if (transB)
            {
                for (int j = 0; j < n; j++)
                {
                    float* bj = b + (nint)j * ldb;
                    float sum = 0;
                    for (int p = 0; p < k; p++) sum += ai[p * aCol] * bj[p];
                    ci[j] = accumulate ? ci[j] + sum : sum;
                }
            }
            else
            {
                if (!accumulate) new Span<float>(ci, n).Clear();
                for (int p = 0; p < k; p++)
                {
                    float aip = ai[p * aCol];
                    float* bp = b + (nint)p * ldb;
                    for (int j = 0; j < n; j++) ci[j] += aip * bp[j];
                }
            }
        }
    }

    private static void CheckOperand(ReadOnlySpan<float> x, int ld, int rows, int cols, string name)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols) ThrowHelper.LeadingDimensionTooSmall(name, ld, cols);
        long needed = (long)(rows - 1) * ld + cols;
        if (x.Length < needed) ThrowHelper.OperandTooShort(name, x.Length, needed);
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    private static class ThrowHelper
    {
        [DoesNotReturn]
        public static void NegativeDimension(int m, int n, int k) =>
            throw new ArgumentOutOfRangeException(nameof(m), $"GEMM dimensions must be non-negative, got m={m}, n={n}, k={k}.");

        [DoesNotReturn]
        public static void LeadingDimensionTooSmall(string operand, int ld, int cols) =>
            throw new ArgumentOutOfRangeException("ld" + operand, ld, $"The leading dimension of {operand} must be at least its row length {cols}.");

        [DoesNotReturn]
        public static void OperandTooShort(string operand, int length, long needed) =>
            throw new ArgumentException($"Operand {operand} holds {length} floats but its rows and leading dimension need {needed}.", operand);

        [DoesNotReturn]
        public static void WorkspaceTooSmall(int length, int needed) =>
            throw new ArgumentException($"The GEMM workspace holds {length} floats but needs {needed}; size it with Gemm.WorkspaceFloats.", "workspace");

        [DoesNotReturn]
        public static void PathNotSupported(GemmPath path) =>
            throw new PlatformNotSupportedException($"This CPU does not support the {path} GEMM path.");
    }
}
