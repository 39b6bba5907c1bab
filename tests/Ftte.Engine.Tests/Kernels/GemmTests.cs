using Ftte.Core;
using Ftte.Engine.Kernels;

namespace Ftte.Engine.Tests.Kernels;

public sealed class GemmTests
{
    private static readonly int[] Sizes = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65];

    /// <summary>Every path this CPU supports, by name (GemmPath is internal, so theory data carry strings).</summary>
    public static TheoryData<string> Paths()
    {
        var data = new TheoryData<string>();
        foreach (var path in Enum.GetValues<GemmPath>())
            if (Gemm.IsSupported(path)) data.Add(path.ToString());
        return data;
    }

    public static TheoryData<string, bool, bool, int> PathTransposeSize()
    {
        var data = new TheoryData<string, bool, bool, int>();
        foreach (var path in Enum.GetValues<GemmPath>())
        {
            if (!Gemm.IsSupported(path)) continue;
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (int s in Sizes) data.Add(path.ToString(), ta, tb, s);
        }
        return data;
    }

    // (m, n, k, transA, transB): the engine's GEMMs (MLP 784-128-64-10 and LeNet at batch 32/256) and shapes that cross
    // the MC (144) and KC (256) block edges.
    public static TheoryData<string, int, int, int, bool, bool> PathRealShape()
    {
        (int M, int N, int K, bool TA, bool TB)[] shapes =
        [
            (32, 128, 784, false, true),   // MLP fc1 forward: X·Wᵀ
            (256, 64, 128, false, true),   // MLP fc2 forward
            (32, 10, 64, false, true),     // MLP fc3 forward
            (128, 784, 32, true, false),   // MLP fc1 dW = dYᵀ·X
            (10, 64, 256, true, false),    // MLP fc3 dW
            (32, 128, 64, false, false),   // MLP fc2 dX = dY·W
            (8, 784, 9, false, false),     // LeNet conv1 forward: W·cols
            (16, 196, 72, false, false),   // LeNet conv2 forward
            (8, 9, 784, false, true),      // LeNet conv1 dW = dY·colsᵀ
            (16, 72, 196, false, true),    // LeNet conv2 dW: dot products with a masked k tail (196 = 12·16 + 4)
            (72, 196, 16, true, false),    // LeNet conv2 dcols = Wᵀ·dY
            (300, 70, 600, false, false),  // several MC and KC blocks
            (20, 100, 600, false, false),  // B read in place (m ≤ 32) over several KC blocks, a packed ragged last panel
            (150, 33, 513, true, true),
        ];
        var data = new TheoryData<string, int, int, int, bool, bool>();
        foreach (var path in Enum.GetValues<GemmPath>())
        {
            if (!Gemm.IsSupported(path)) continue;
            foreach (var s in shapes) data.Add(path.ToString(), s.M, s.N, s.K, s.TA, s.TB);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PathTransposeSize))]
    public void Multiply_SizesAroundVectorWidths_MatchesDoubleReference(string path, bool transA, bool transB, int s)
    {
        // Each dimension in turn is the one around a vector width, the others fixed at awkward sizes.
        var seed = (ulong)(s * 4 + (transA ? 2 : 0) + (transB ? 1 : 0));
        foreach (var (m, n, k) in new[] { (s, s, s), (s, 17, 33), (33, s, 7), (9, 65, s) })
            foreach (bool accumulate in new[] { false, true })
                AssertMatchesReference(Parse(path), transA, transB, m, n, k, accumulate, pad: 0, seed);
    }

    [Theory]
    [MemberData(nameof(PathRealShape))]
    public void Multiply_EngineShapes_MatchesDoubleReference(string path, int m, int n, int k, bool transA, bool transB)
    {
        AssertMatchesReference(Parse(path), transA, transB, m, n, k, accumulate: false, pad: 0, seed: 7);
        AssertMatchesReference(Parse(path), transA, transB, m, n, k, accumulate: true, pad: 0, seed: 8);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Multiply_LeadingDimensionsWiderThanRows_IgnoresAndPreservesPadding(string path)
    {
        // The padding of A and B is NaN (a read would poison C); the padding of C is NaN and must stay untouched.
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                AssertMatchesReference(Parse(path), ta, tb, 33, 47, 70, accumulate: true, pad: 5, seed: 11);
                AssertMatchesReference(Parse(path), ta, tb, 9, 17, 300, accumulate: false, pad: 16, seed: 12);
            }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Multiply_WorkspaceOfExactlyWorkspaceFloats_IsEnoughAndNotOverrun(string path)
    {
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 33, 9), (32, 128, 784), (300, 70, 600), (145, 2049, 3) })
        {
            var rng = new Rng(21);
            var a = Random(rng, m * k);
            var b = Random(rng, k * n);
            var c = new float[m * n];
            int floats = Gemm.WorkspaceFloats(false, false, m, n, k);
            const int Guard = 64;
            var buffer = new float[floats + Guard];
            buffer.AsSpan(floats).Fill(-7f);

            Gemm.Multiply(Parse(path), false, false, m, n, k, a, k, b, n, c, n, accumulate: false, buffer.AsSpan(0, floats));

            Assert.All(buffer.AsSpan(floats).ToArray(), v => Assert.Equal(-7f, v));
        }
    }

    [Fact]
    public void WorkspaceFloats_NothingToMultiply_IsZero()
    {
        Assert.Equal(0, Gemm.WorkspaceFloats(false, true, 0, 10, 10));
        Assert.Equal(0, Gemm.WorkspaceFloats(true, false, 10, 0, 10));
        Assert.Equal(0, Gemm.WorkspaceFloats(true, true, 10, 10, 0));
    }

    [Fact]
    public void WorkspaceFloats_SameArguments_SameAnswer()
    {
        int first = Gemm.WorkspaceFloats(false, true, 256, 128, 784);
        int second = Gemm.WorkspaceFloats(false, true, 256, 128, 784);
        Assert.Equal(first, second);
        Assert.True(first > 0);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Multiply_WorkspaceTooSmall_Throws(string path)
    {
        var gemmPath = Parse(path);
        if (gemmPath == GemmPath.Scalar) return;   // the scalar path packs nothing
        var a = new float[64 * 64];
        var c = new float[64 * 64];
        var workspace = new float[Gemm.WorkspaceFloats(gemmPath, false, false, 64, 64, 64) - 1];
        Assert.Throws<ArgumentException>(() =>
            Gemm.Multiply(gemmPath, false, false, 64, 64, 64, a, 64, a, 64, c, 64, false, workspace));
    }

    [Fact]
    public void Multiply_OperandShorterThanShape_Throws()
    {
        var a = new float[10];
        var c = new float[16];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(false, false, 4, 4, 4, a, 4, a, 4, c, 4, false, new float[1024]));
    }

    [Fact]
    public void Multiply_LeadingDimensionBelowRowLength_Throws()
    {
        var a = new float[64];
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(false, false, 4, 4, 4, a, 3, a, 4, a, 4, false, new float[1024]));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Multiply_SameInputsTwice_BitIdentical(string path)
    {
        var rng = new Rng(31);
        int m = 70, n = 90, k = 600;
        var a = Random(rng, m * k);
        var b = Random(rng, n * k);
        var workspace = new float[Gemm.WorkspaceFloats(false, true, m, n, k)];
        var first = new float[m * n];
        var second = new float[m * n];

        Gemm.Multiply(Parse(path), false, true, m, n, k, a, k, b, k, first, n, false, workspace);
        workspace.AsSpan().Fill(float.NaN);   // stale workspace contents must not matter
        Gemm.Multiply(Parse(path), false, true, m, n, k, a, k, b, k, second, n, false, workspace);

        Assert.Equal(first, second);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Multiply_DotProductShapes_ElementDoesNotDependOnItsTile(string path)
    {
        // A·Bᵀ small enough for dot products: full tiles, edge rows and edge columns must give each element the same bits
        // as a 1×1 multiply of its own row and column, at depths with and without a k tail.
        var rng = new Rng(37);
        foreach (int k in new[] { 1, 7, 16, 35, 196 })
        {
            int m = 7, n = 9;
            var a = Random(rng, m * k);
            var b = Random(rng, n * k);
            Assert.True(Gemm.UseDotProducts(Parse(path), false, true, m, n, k) || Parse(path) == GemmPath.Scalar);
            var all = new float[m * n];
            Gemm.Multiply(Parse(path), false, true, m, n, k, a, k, b, k, all, n, false, new float[Gemm.WorkspaceFloats(false, true, m, n, k)]);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    var one = new float[1];
                    Gemm.Multiply(Parse(path), false, true, 1, 1, k, a.AsSpan(i * k, k), k, b.AsSpan(j * k, k), k, one, 1, false, []);
                    Assert.Equal(one[0], all[i * n + j]);
                }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Multiply_NoAccumulateOverNaN_OverwritesC(string path)
    {
        var rng = new Rng(41);
        int m = 13, n = 40, k = 5;
        var a = Random(rng, m * k);
        var b = Random(rng, k * n);
        var c = Enumerable.Repeat(float.NaN, m * n).ToArray();

        Gemm.Multiply(Parse(path), false, false, m, n, k, a, k, b, n, c, n, false, new float[Gemm.WorkspaceFloats(false, false, m, n, k)]);

        Assert.All(c, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Multiply_DefaultOverload_UsesBestPathBits()
    {
        var rng = new Rng(51);
        int m = 32, n = 64, k = 128;
        var a = Random(rng, m * k);
        var b = Random(rng, k * n);
        var workspace = new float[Gemm.WorkspaceFloats(false, false, m, n, k)];
        var viaDefault = new float[m * n];
        var viaBest = new float[m * n];

        Gemm.Multiply(false, false, m, n, k, a, k, b, n, viaDefault, n, false, workspace);
        Gemm.Multiply(Gemm.BestPath, false, false, m, n, k, a, k, b, n, viaBest, n, false, workspace);

        Assert.Equal(viaBest, viaDefault);
    }

    /// <summary>
    /// Runs one multiply on <paramref name="path"/> and checks every element of C against a double-precision reference,
    /// within the worst-case fp32 summation bound (k + 2)·u·(|C₀| + Σ|a·b|) — a wrong index or a missed term is off by O(Σ).
    /// With <paramref name="pad"/> &gt; 0 every leading dimension exceeds its row by that much and the gaps hold NaN.
    /// </summary>
    private static void AssertMatchesReference(GemmPath path, bool transA, bool transB, int m, int n, int k, bool accumulate, int pad, ulong seed)
    {
        var rng = new Rng(seed);
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        var a = Strided(rng, aRows, aCols, lda);
        var b = Strided(rng, bRows, bCols, ldb);
        var c = Strided(rng, m, n, ldc);
        var c0 = (float[])c.Clone();
        var workspace = new float[Gemm.WorkspaceFloats(transA, transB, m, n, k)];

        Gemm.Multiply(path, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, workspace);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = accumulate ? c0[i * ldc + j] : 0, magnitude = Math.Abs(sum);
                for (int p = 0; p < k; p++)
                {
                    double term = (double)a[transA ? p * lda + i : i * lda + p] * b[transB ? j * ldb + p : p * ldb + j];
                    sum += term;
                    magnitude += Math.Abs(term);
                }
                double tolerance = (k + 2) * 1.2e-7 * magnitude + 1e-30;
                float actual = c[i * ldc + j];
                if (!(Math.Abs(actual - sum) <= tolerance))
                    Assert.Fail($"{path} transA={transA} transB={transB} m={m} n={n} k={k} accumulate={accumulate}: C[{i},{j}] = {actual}, expected {sum} ± {tolerance}");
            }
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                Assert.True(float.IsNaN(c[i * ldc + j]), $"{path}: padding C[{i},{j}] was written");
        }
    }

    private static float[] Strided(Rng rng, int rows, int cols, int ld)
    {
        var x = new float[rows == 0 ? 0 : (rows - 1) * ld + cols];
        x.AsSpan().Fill(float.NaN);
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++) x[r * ld + q] = rng.Uniform(-1f, 1f);
        return x;
    }

    private static float[] Random(Rng rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = rng.Uniform(-1f, 1f);
        return x;
    }

    private static GemmPath Parse(string path) => Enum.Parse<GemmPath>(path);
}
