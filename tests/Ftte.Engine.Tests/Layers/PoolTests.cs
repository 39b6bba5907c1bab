using Ftte.Core;
using Ftte.Engine.Layers;

namespace Ftte.Engine.Tests.LayersTests;

public sealed class PoolTests
{
    private static float[][] DistinctInput(Layer layer, int batch, ulong seed) =>
        [GradientChecker.Distinct(new Rng(seed), batch * layer.InputShape.Size, spacing: 0.05f)];

    [Theory]
    [InlineData(2, 2)]   // non-overlapping, a ragged last row and column left out
    [InlineData(3, 2)]   // overlapping windows
    [InlineData(2, 1)]
    public void MaxPool2d_Backward_MatchesFiniteDifferences(int kernel, int stride)
    {
        var pool = new MaxPool2d("pool", new Shape(2, 5, 5), kernel, stride);

        new GradientChecker(pool, null, inputGradMask: 1, inputs: DistinctInput(pool, 2, 3)) { Step = 1e-2 }.Check();
    }

    [Fact]
    public void MaxPool2d_Backward_BatchSmallerThanPlanned_MatchesFiniteDifferences()
    {
        var pool = new MaxPool2d("pool", new Shape(3, 4, 4), 2, 2);

        new GradientChecker(pool, null, inputGradMask: 1, batch: 2, plannedBatch: 4, inputs: DistinctInput(pool, 2, 4)) { Step = 1e-2 }.Check();
    }

    [Fact]
    public void MaxPool2d_Memory_InputGradient_SavesOneIndexPerOutput()
    {
        var pool = new MaxPool2d("pool", new Shape(3, 8, 8), 2, 2);

        var memory = pool.Memory(new LayerNeeds(true, true, 1, null), batch: 5);

        Assert.Equal(new LayerMemory(SavedFloats: 5 * 3 * 4 * 4), memory);
    }

    [Fact]
    public void MaxPool2d_Memory_NoBackward_SavesNothing()
    {
        var pool = new MaxPool2d("pool", new Shape(3, 8, 8), 2, 2);

        var memory = pool.Memory(new LayerNeeds(true, false, 0, null), batch: 5);

        Assert.Equal(default, memory);
    }

    [Fact]
    public void MaxPool2d_Forward_Inference_WritesMaxWithoutSavedBuffer()
    {
        var pool = new MaxPool2d("pool", new Shape(1, 2, 4), 2, 2);
        float[] x = [1, 5, -1, -2,
                     3, 2, -4, -3];
        var y = new float[2];

        pool.Forward(new ForwardContext { Batch = 1, X = x, Y = y }, LayerNeeds.Inference);

        Assert.Equal([5f, -1f], y);
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 1)]
    [InlineData(3, 2)]
    public void AvgPool2d_Backward_MatchesFiniteDifferences(int kernel, int stride)
    {
        var pool = new AvgPool2d("pool", new Shape(2, 5, 5), kernel, stride);

        new GradientChecker(pool, null, inputGradMask: 1) { Step = 0.1 }.Check();
    }

    [Fact]
    public void AvgPool2d_Memory_KeepsNothing()
    {
        var pool = new AvgPool2d("pool", new Shape(3, 8, 8), 2, 2);

        Assert.Equal(default, pool.Memory(new LayerNeeds(true, true, 1, null), batch: 5));
    }

    [Fact]
    public void GlobalAvgPool_Backward_MatchesFiniteDifferences()
    {
        var pool = new GlobalAvgPool("gap", new Shape(3, 3, 5));

        new GradientChecker(pool, null, inputGradMask: 1, batch: 3) { Step = 0.1 }.Check();
    }

    [Fact]
    public void GlobalAvgPool_Memory_KeepsNothing()
    {
        var pool = new GlobalAvgPool("gap", new Shape(3, 4, 4));

        Assert.Equal(default, pool.Memory(new LayerNeeds(true, true, 1, null), batch: 5));
    }
}
