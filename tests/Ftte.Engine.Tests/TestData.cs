using Ftte.Core;
using Ftte.Engine;

namespace Ftte.Engine.Tests;

/// <summary>Seeded synthetic samples for engine tests that need no real dataset.</summary>
internal static class TestData
{
    /// <summary>Gaussian features with a label-dependent mean: learnable, so a model that trains reduces the loss.</summary>
    public static ArraySamples Blobs(Shape shape, int count, int classes, ulong seed)
    {
        var rng = new Rng(seed);
        var centres = new float[classes * shape.Size];
        for (int i = 0; i < centres.Length; i++) centres[i] = (float)rng.NextGaussian();
        var x = new float[count * shape.Size];
        var y = new int[count];
        for (int n = 0; n < count; n++)
        {
            y[n] = rng.NextInt(classes);
            for (int j = 0; j < shape.Size; j++)
                x[n * shape.Size + j] = centres[y[n] * shape.Size + j] + 0.8f * (float)rng.NextGaussian();
        }
        return new ArraySamples(x, y, shape.Size);
    }
}
