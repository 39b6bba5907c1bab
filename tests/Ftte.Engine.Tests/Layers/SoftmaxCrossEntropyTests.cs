using Ftte.Core;
using Ftte.Engine.Training;

namespace Ftte.Engine.Tests.LayersTests;

public sealed class SoftmaxCrossEntropyTests
{
    [Fact]
    public void Compute_Gradient_MatchesFiniteDifferences()
    {
        const int batch = 3, classes = 5;
        const double step = 1e-2;
        var rng = new Rng(11);
        var logits = GradientChecker.Uniform(rng, batch * classes, -3f, 3f);
        int[] labels = [4, 0, 2];
        var gradient = new float[batch * classes];

        SoftmaxCrossEntropy.Compute(logits, labels, batch, classes, gradient);

        for (int i = 0; i < logits.Length; i++)
        {
            float original = logits[i];
            float plus = (float)(original + step), minus = (float)(original - step);
            logits[i] = plus;
            double lossPlus = SoftmaxCrossEntropy.Compute(logits, labels, batch, classes, []).Loss;
            logits[i] = minus;
            double lossMinus = SoftmaxCrossEntropy.Compute(logits, labels, batch, classes, []).Loss;
            logits[i] = original;
            double numeric = (lossPlus - lossMinus) / ((double)plus - minus);
            Assert.True(Math.Abs(gradient[i] - numeric) <= 1e-4 + 1e-3 * Math.Abs(numeric),
                $"∂L/∂z[{i}]: {gradient[i]:G6} vs finite differences {numeric:G6}");
        }
    }

    [Fact]
    public void Compute_GradientRows_SumToZero()
    {
        var rng = new Rng(12);
        var logits = GradientChecker.Uniform(rng, 2 * 4, -3f, 3f);
        var gradient = new float[8];

        SoftmaxCrossEntropy.Compute(logits, [1, 3], 2, 4, gradient);

        Assert.Equal(0, gradient.AsSpan(0, 4).ToArray().Sum(), 1e-6);
        Assert.Equal(0, gradient.AsSpan(4, 4).ToArray().Sum(), 1e-6);
    }
}
