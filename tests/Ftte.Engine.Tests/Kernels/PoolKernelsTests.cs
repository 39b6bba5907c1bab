using Ftte.Core;
using Ftte.Engine.Kernels;

namespace Ftte.Engine.Tests.Kernels;

public sealed class PoolKernelsTests
{
    // Output widths around the 8-window vector step (0 rows of vector work up to two steps and a tail), odd input sizes included.
    public static TheoryData<int, int> Geometry() => new()
    {
        { 2, 2 }, { 3, 5 }, { 2, 6 }, { 2, 8 }, { 3, 11 }, { 4, 14 }, { 4, 15 }, { 2, 16 }, { 5, 17 }, { 2, 18 }, { 6, 28 }, { 3, 31 }, { 2, 32 }, { 2, 34 }, { 2, 66 },
    };

    [Theory]
    [MemberData(nameof(Geometry))]
    public void MaxPool2x2_VectorPath_MatchesScalarPath(int h, int w)
    {
        const int planes = 3;
        var x = RandomWithTies(new Rng((ulong)(h * 100 + w)), planes * h * w);
        int outputs = planes * (h / 2) * (w / 2);
        var (yScalar, iScalar) = (new float[outputs], new int[outputs]);
        var (yVector, iVector) = (new float[outputs], new int[outputs]);

        PoolKernels.MaxPool2x2(x, planes, h, w, yScalar, iScalar, useVector: false);
        PoolKernels.MaxPool2x2(x, planes, h, w, yVector, iVector, useVector: true);

        Assert.Equal(yScalar, yVector);
        Assert.Equal(iScalar, iVector);
    }

    [Theory]
    [MemberData(nameof(Geometry))]
    public void MaxPool2x2_Vector_PicksFirstMaxInRowMajorOrder(int h, int w)
    {
        const int planes = 2;
        var x = RandomWithTies(new Rng((ulong)(h * 1000 + w)), planes * h * w);
        int ho = h / 2, wo = w / 2;
        var y = new float[planes * ho * wo];
        var index = new int[y.Length];

        PoolKernels.MaxPool2x2(x, planes, h, w, y, index, useVector: true);

        for (int p = 0; p < planes; p++)
            for (int oh = 0; oh < ho; oh++)
                for (int ow = 0; ow < wo; ow++)
                {
                    // The generic MaxPool2d loop: scan the window row-major, keep the first strict maximum.
                    int best = 2 * oh * w + 2 * ow;
                    foreach (int at in (ReadOnlySpan<int>)[best + 1, best + w, best + w + 1])
                        if (x[p * h * w + at] > x[p * h * w + best]) best = at;
                    int o = (p * ho + oh) * wo + ow;
                    Assert.Equal(best, index[o]);
                    Assert.Equal(x[p * h * w + best], y[o]);
                }
    }

    [Theory]
    [MemberData(nameof(Geometry))]
    public void MaxPool2x2BackwardOverwrite_BothPaths_EqualScatterIntoZeros(int h, int w)
    {
        const int planes = 3;
        var rng = new Rng((ulong)(h * 10000 + w));
        var x = RandomWithTies(rng, planes * h * w);
        int outputs = planes * (h / 2) * (w / 2);
        var y = new float[outputs];
        var index = new int[outputs];
        PoolKernels.MaxPool2x2(x, planes, h, w, y, index, useVector: true);
        var dy = new float[outputs];
        for (int i = 0; i < outputs; i++) dy[i] = rng.Uniform(-1f, 1f);
        var expected = new float[x.Length];
        for (int o = 0; o < outputs; o++) expected[o / ((h / 2) * (w / 2)) * h * w + index[o]] += dy[o];

        foreach (bool vector in new[] { false, true })
        {
            var dx = new float[x.Length];
            Array.Fill(dx, float.NaN);
            PoolKernels.MaxPool2x2BackwardOverwrite(dy, index, planes, h, w, dx, vector);
            Assert.Equal(expected, dx);
        }
    }

    [Fact]
    public void MaxPool2x2_NoIndexSpan_WritesMaxOnly()
    {
        float[] x = [1, 5, -1, -2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9,
                     3, 2, -4, -3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        var y = new float[9];

        PoolKernels.MaxPool2x2(x, 1, 2, 18, y, default, useVector: true);

        Assert.Equal([5f, -1f, 0, 0, 0, 0, 0, 0, 9f], y);
    }

    /// <summary>Values from a small set, so that windows often hold ties.</summary>
    private static float[] RandomWithTies(Rng rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rng.NextInt(5) - 2;
        return x;
    }
}
