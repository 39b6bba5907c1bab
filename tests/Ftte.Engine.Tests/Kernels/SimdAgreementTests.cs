using System.Numerics;
using Ftte.Core;
using Ftte.Engine.Kernels;
using Ftte.Engine.Layers;
using Ftte.Engine.Training;

namespace Ftte.Engine.Tests.Kernels;

/// <summary>
/// The vector paths of the hand-written kernels agree with scalar code, at lengths around every vector width so that
/// both the vector body and the scalar tail run. GEMM has a path switch (<see cref="GemmPath"/>): each path is compared
/// with the scalar path. The ReLU mask has a path switch too. The optimizer kernels pick <see cref="Vector{T}"/> by themselves with no
/// way to force the scalar loop, so they are compared with a plain scalar reference written here, element by element in
/// the kernel's own operation order: every operation is elementwise and unfused, so the results must be identical.
/// </summary>
public sealed class SimdAgreementTests
{
    private static readonly int[] Lengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 2048];

    public static TheoryData<int> LengthData() => new(Lengths);

    public static TheoryData<string, int> PathLength()
    {
        var data = new TheoryData<string, int>();
        foreach (var path in Enum.GetValues<GemmPath>())
        {
            if (path == GemmPath.Scalar || !Gemm.IsSupported(path)) continue;
            foreach (int n in Lengths) data.Add(path.ToString(), n);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(LengthData))]
    public void ReluMask_Relu_VectorAndScalarPathsMatchReference(int n) => AssertReluMaskAgrees(n, float.PositiveInfinity, seed: 1);

    [Theory]
    [MemberData(nameof(LengthData))]
    public void ReluMask_Relu6_VectorAndScalarPathsMatchReference(int n) => AssertReluMaskAgrees(n, 6f, seed: 2);

    [Theory]
    [MemberData(nameof(LengthData))]
    public void Sgd_NoMomentum_MatchesScalarReference(int n) => AssertSgdAgrees(n, lr: 0.05f, momentum: 0f, decay: 0f, seed: 3);

    [Theory]
    [MemberData(nameof(LengthData))]
    public void Sgd_MomentumAndDecay_MatchesScalarReference(int n) => AssertSgdAgrees(n, lr: 0.01f, momentum: 0.9f, decay: 5e-4f, seed: 4);

    [Theory]
    [MemberData(nameof(LengthData))]
    public void Adam_FirstStep_MatchesScalarReference(int n) => AssertAdamAgrees(n, decay: 0f, step: 1, seed: 5);

    [Theory]
    [MemberData(nameof(LengthData))]
    public void Adam_LaterStepWithDecay_MatchesScalarReference(int n) => AssertAdamAgrees(n, decay: 1e-2f, step: 37, seed: 6);

    [Theory]
    [MemberData(nameof(PathLength))]
    public void GemmMultiply_EveryPath_AgreesWithScalarPath(string path, int n)
    {
        // (M,K) × (K,N) → (M,N) with N around the vector widths; M = 7 and K = 33 leave edge tiles in the other two dimensions.
        var rng = new Rng((ulong)(1000 + n));
        const int m = 7, k = 33;
        var a = Random(rng, m * k, -1f, 1f);
        var b = Random(rng, k * n, -1f, 1f);
        var c0 = Random(rng, m * n, -1f, 1f);
        var workspace = new float[Gemm.WorkspaceFloats(false, false, m, n, k)];
        var scalar = (float[])c0.Clone();
        var vector = (float[])c0.Clone();

        Gemm.Multiply(GemmPath.Scalar, false, false, m, n, k, a, k, b, n, scalar, n, true, workspace);
        Gemm.Multiply(Enum.Parse<GemmPath>(path), false, false, m, n, k, a, k, b, n, vector, n, true, workspace);

        // Paths differ only in summation order and FMA rounding: both lie within (k + 2)·u·(|C₀| + Σ|a·b|) of the exact sum.
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double magnitude = Math.Abs(c0[i * n + j]);
                for (int p = 0; p < k; p++) magnitude += Math.Abs((double)a[i * k + p] * b[p * n + j]);
                double bound = 2 * (k + 2) * Math.Pow(2, -24) * magnitude;
                Assert.True(Math.Abs(vector[i * n + j] - scalar[i * n + j]) <= bound,
                    $"C[{i},{j}]: {path} {vector[i * n + j]} vs scalar {scalar[i * n + j]} (bound {bound})");
            }
        }
    }

    /// <summary>
    /// Packs the mask of y on both paths (identical words), then applies it both ways on both paths: copy writes dy where
    /// 0 &lt; y &lt; cap and 0 elsewhere, over stale dx contents; accumulate adds dy there and leaves the rest.
    /// </summary>
    private static void AssertReluMaskAgrees(int n, float cap, ulong seed)
    {
        var rng = new Rng(seed);
        var y = Random(rng, n, -2f, 8f);
        // The mask's edges: exactly 0, exactly the cap, and just inside both.
        float[] edges = [0f, -0f, cap, 6f, float.Epsilon, MathF.BitDecrement(cap)];
        for (int i = 0; i < n; i += 3) y[i] = edges[i / 3 % edges.Length];
        var dy = Random(rng, n, -1f, 1f);
        var dx0 = Random(rng, n, -1f, 1f);
        var copied = new float[n];
        var added = (float[])dx0.Clone();
        for (int i = 0; i < n; i++)
        {
            bool on = y[i] > 0f && y[i] < cap;
            copied[i] = on ? dy[i] : 0f;
            if (on) added[i] += dy[i];
        }

        foreach (bool vector in new[] { false, System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated })
        {
            var bits = new uint[ReluMask.Words(n) + 1];
            bits[^1] = 0xDEADBEEF;   // the word after the mask is not written
            ReluMask.Pack(y, bits, cap, vector);
            Assert.Equal(0xDEADBEEFu, bits[^1]);
            for (int i = 0; i < n; i++)
                Assert.Equal(y[i] > 0f && y[i] < cap, (bits[i >> 5] & (1u << (i & 31))) != 0);

            var dx = new float[n];
            Array.Fill(dx, float.NaN);   // stale contents are overwritten, never read
            ReluMask.Apply(bits, dy, dx, accumulate: false, vector);
            Assert.Equal(copied, dx);

            dx = (float[])dx0.Clone();
            ReluMask.Apply(bits, dy, dx, accumulate: true, vector);
            AssertIdentical(added, dx);
        }
    }

    private static void AssertSgdAgrees(int n, float lr, float momentum, float decay, ulong seed)
    {
        var rng = new Rng(seed);
        var w = Random(rng, n, -1f, 1f);
        var g = Random(rng, n, -1f, 1f);
        var v = Random(rng, n, -0.5f, 0.5f);
        var expectedW = (float[])w.Clone();
        var expectedV = (float[])v.Clone();
        for (int i = 0; i < n; i++)
        {
            float gi = g[i] + decay * expectedW[i];
            if (momentum > 0) gi = expectedV[i] = momentum * expectedV[i] + gi;
            expectedW[i] -= lr * gi;
        }

        OptimizerKernels.Sgd(w, g, v, lr, momentum, decay);

        AssertIdentical(expectedW, w);
        AssertIdentical(expectedV, v);
    }

    private static void AssertAdamAgrees(int n, float decay, int step, ulong seed)
    {
        const float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
        var rng = new Rng(seed);
        var w = Random(rng, n, -1f, 1f);
        var g = Random(rng, n, -1f, 1f);
        var m = Random(rng, n, -0.1f, 0.1f);
        var v = Random(rng, n, 0f, 0.01f);
        var expectedW = (float[])w.Clone();
        var expectedM = (float[])m.Clone();
        var expectedV = (float[])v.Clone();
        float c1 = 1f - MathF.Pow(beta1, step), c2 = 1f - MathF.Pow(beta2, step);
        float stepSize = lr / c1, invSqrtC2 = 1f / MathF.Sqrt(c2);
        for (int i = 0; i < n; i++)
        {
            float gi = g[i] + decay * expectedW[i];
            expectedM[i] = beta1 * expectedM[i] + (1f - beta1) * gi;
            expectedV[i] = beta2 * expectedV[i] + (1f - beta2) * gi * gi;
            expectedW[i] -= stepSize * expectedM[i] / (MathF.Sqrt(expectedV[i]) * invSqrtC2 + eps);
        }

        OptimizerKernels.Adam(w, g, m, v, lr, beta1, beta2, eps, decay, step);

        AssertIdentical(expectedM, m);
        AssertIdentical(expectedV, v);
        AssertIdentical(expectedW, w);
    }

    private static float[] Random(Rng rng, int n, float lo, float hi)
    {
        var values = new float[n];
        for (int i = 0; i < values.Length; i++) values[i] = rng.Uniform(lo, hi);
        return values;
    }

    /// <summary>Equal values at every index (−0 equals +0: a masked-off lane adds +0 on the vector path and nothing on the scalar one).</summary>
    private static void AssertIdentical(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(expected[i] == actual[i], $"[{i}] of {expected.Length}: expected {expected[i]:R}, got {actual[i]:R}");
    }
}
