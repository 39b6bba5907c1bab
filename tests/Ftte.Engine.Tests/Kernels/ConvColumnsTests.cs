using Ftte.Core;
using Ftte.Engine.Kernels;

namespace Ftte.Engine.Tests.Kernels;

public sealed class ConvColumnsTests
{
    // (c, h, w, kh, kw, strideH, strideW, padH, padW)
    public static TheoryData<int, int, int, int, int, int, int, int, int> Geometries() => new()
    {
        { 1, 5, 5, 3, 3, 1, 1, 1, 1 },      // LeNet-style 3×3, pad 1
        { 1, 28, 28, 3, 3, 1, 1, 1, 1 },    // LeNet conv1
        { 8, 14, 14, 3, 3, 1, 1, 1, 1 },    // LeNet conv2
        { 2, 7, 6, 3, 2, 2, 2, 1, 1 },      // stride 2, non-square kernel and image
        { 3, 9, 8, 5, 5, 2, 2, 2, 2 },      // stride 2, pad 2
        { 2, 8, 9, 3, 3, 2, 1, 0, 1 },      // different strides and pads per axis
        { 1, 3, 3, 3, 3, 1, 1, 2, 2 },      // padding wider than the overlap: whole rows of zeros
        { 4, 6, 6, 1, 1, 1, 1, 0, 0 },      // 1×1
        { 2, 11, 10, 3, 4, 3, 2, 1, 0 },    // stride 3 rows
        { 2, 6, 9, 5, 5, 1, 1, 2, 2 },      // same-width stride 1 (one block per column row): 5×5, pad 2
        { 3, 4, 7, 3, 5, 1, 1, 0, 2 },      // same width, no row padding, non-square kernel
        { 2, 2, 3, 5, 3, 1, 1, 2, 1 },      // same width, rows mostly padding
        { 1, 1, 4, 3, 3, 1, 1, 1, 1 },      // same width, one image row
    };

    [Theory]
    [InlineData(28, 3, 1, 1, 28)]
    [InlineData(28, 2, 2, 0, 14)]
    [InlineData(7, 3, 2, 1, 4)]
    [InlineData(5, 5, 1, 0, 1)]
    public void OutputSize_Geometry_IsFloorFormula(int input, int kernel, int stride, int pad, int expected)
        => Assert.Equal(expected, ConvColumns.OutputSize(input, kernel, stride, pad));

    [Fact]
    public void OutputSize_KernelLargerThanPaddedInput_Throws()
        => Assert.Throws<ArgumentOutOfRangeException>(() => ConvColumns.OutputSize(2, 5, 1, 1));

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Im2Col_Geometry_MatchesNaiveLoops(int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var x = Random(new Rng(1), c * h * w);
        int floats = ConvColumns.ColumnFloats(c, h, w, kh, kw, sh, sw, ph, pw);
        var col = Enumerable.Repeat(float.NaN, floats).ToArray();   // every element must be written

        ConvColumns.Im2Col(x, c, h, w, kh, kw, sh, sw, ph, pw, col);

        Assert.Equal(NaiveIm2Col(x, c, h, w, kh, kw, sh, sw, ph, pw), col);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Col2ImAccumulate_Geometry_MatchesNaiveLoops(int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        var rng = new Rng(2);
        var col = Random(rng, ConvColumns.ColumnFloats(c, h, w, kh, kw, sh, sw, ph, pw));
        var dx = Random(rng, c * h * w);
        var expected = NaiveCol2Im(col, (float[])dx.Clone(), c, h, w, kh, kw, sh, sw, ph, pw);

        ConvColumns.Col2ImAccumulate(col, c, h, w, kh, kw, sh, sw, ph, pw, dx);

        for (int i = 0; i < dx.Length; i++) Assert.Equal(expected[i], dx[i], 5e-6f);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Col2ImAccumulate_Geometry_IsAdjointOfIm2Col(int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        // ⟨Im2Col(x), y⟩ = ⟨x, Col2Im(y)⟩: the backward pass of the convolution's input gradient is exactly the transpose.
        var rng = new Rng(3);
        var x = Random(rng, c * h * w);
        var y = Random(rng, ConvColumns.ColumnFloats(c, h, w, kh, kw, sh, sw, ph, pw));
        var cols = new float[y.Length];
        var back = new float[x.Length];

        ConvColumns.Im2Col(x, c, h, w, kh, kw, sh, sw, ph, pw, cols);
        ConvColumns.Col2ImAccumulate(y, c, h, w, kh, kw, sh, sw, ph, pw, back);

        double left = Dot(cols, y), right = Dot(x, back);
        double scale = y.Length;   // |terms| ≤ 1 each
        Assert.True(Math.Abs(left - right) <= 1e-6 * scale, $"⟨Im2Col(x), y⟩ = {left} but ⟨x, Col2Im(y)⟩ = {right}");
    }

    [Fact]
    public void Im2Col_ColumnSpanTooShort_Throws()
    {
        var x = new float[25];
        var col = new float[ConvColumns.ColumnFloats(1, 5, 5, 3, 3, 1, 1, 1, 1) - 1];
        Assert.Throws<ArgumentException>(() => ConvColumns.Im2Col(x, 1, 5, 5, 3, 3, 1, 1, 1, 1, col));
    }

    private static float[] NaiveIm2Col(float[] x, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        int ho = (h + 2 * ph - kh) / sh + 1, wo = (w + 2 * pw - kw) / sw + 1;
        var col = new float[c * kh * kw * ho * wo];
        for (int ch = 0; ch < c; ch++)
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++)
                    for (int oy = 0; oy < ho; oy++)
                        for (int ox = 0; ox < wo; ox++)
                        {
                            int iy = oy * sh - ph + ki, ix = ox * sw - pw + kj;
                            int row = (ch * kh + ki) * kw + kj;
                            col[row * ho * wo + oy * wo + ox] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[(ch * h + iy) * w + ix] : 0f;
                        }
        return col;
    }

    private static float[] NaiveCol2Im(float[] col, float[] dx, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        int ho = (h + 2 * ph - kh) / sh + 1, wo = (w + 2 * pw - kw) / sw + 1;
        for (int ch = 0; ch < c; ch++)
            for (int ki = 0; ki < kh; ki++)
                for (int kj = 0; kj < kw; kj++)
                    for (int oy = 0; oy < ho; oy++)
                        for (int ox = 0; ox < wo; ox++)
                        {
                            int iy = oy * sh - ph + ki, ix = ox * sw - pw + kj;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            int row = (ch * kh + ki) * kw + kj;
                            dx[(ch * h + iy) * w + ix] += col[row * ho * wo + oy * wo + ox];
                        }
        return dx;
    }

    private static double Dot(float[] a, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return sum;
    }

    private static float[] Random(Rng rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = rng.Uniform(-1f, 1f);
        return x;
    }
}
