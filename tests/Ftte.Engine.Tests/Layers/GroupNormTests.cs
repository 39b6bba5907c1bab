using Ftte.Core;
using Ftte.Engine.Layers;

namespace Ftte.Engine.Tests.LayersTests;

public sealed class GroupNormTests
{
    // GroupNorm is not linear in its input or γ: a small step keeps the truncation error (∝ step²) below the tolerance.
    private const double Step = 1e-2;

    [Theory]
    [InlineData(4, 2)]   // two channels per group
    [InlineData(4, 1)]   // LayerNorm over (C,H,W)
    [InlineData(4, 4)]   // InstanceNorm
    public void Backward_AllChannels_MatchesFiniteDifferences(int channels, int groups)
    {
        var norm = new GroupNorm("gn", new Shape(channels, 3, 3), groups);

        new GradientChecker(norm, GradientChecker.Select(norm), inputGradMask: 1) { Step = Step }.Check();
    }

    [Fact]
    public void Backward_ChannelSubset_MatchesFiniteDifferences()
    {
        var norm = new GroupNorm("gn", new Shape(4, 3, 3), 2);

        new GradientChecker(norm, GradientChecker.Select(norm, 0, 2), inputGradMask: 1) { Step = Step }.Check();
    }

    [Fact]
    public void Backward_FrozenInputGradientOnly_MatchesFiniteDifferences()
    {
        var norm = new GroupNorm("gn", new Shape(4, 3, 3), 2);

        new GradientChecker(norm, GradientChecker.Frozen(norm), inputGradMask: 1) { Step = Step }.Check();
    }

    [Fact]
    public void Backward_ScaleOnlyNoInputGradient_MatchesFiniteDifferences()
    {
        var norm = new GroupNorm("gn", new Shape(4, 3, 3), 2);

        new GradientChecker(norm, GradientChecker.SelectOnly(norm, 0), inputGradMask: 0) { Step = Step }.Check();
    }

    [Fact]
    public void Backward_ShiftOnlyNoInputGradient_MatchesFiniteDifferences()
    {
        var norm = new GroupNorm("gn", new Shape(4, 3, 3), 2);

        new GradientChecker(norm, GradientChecker.SelectOnly(norm, 1), inputGradMask: 0) { Step = Step }.Check();
    }

    [Fact]
    public void Backward_BatchSmallerThanPlanned_MatchesFiniteDifferences()
    {
        var norm = new GroupNorm("gn", new Shape(4, 2, 3), 2);

        new GradientChecker(norm, GradientChecker.Select(norm, 1, 3), inputGradMask: 1, batch: 2, plannedBatch: 3) { Step = Step }.Check();
    }

    [Fact]
    public void Memory_InputGradient_SavesNormalizedInputAndRstdButNotInput()
    {
        var norm = new GroupNorm("gn", new Shape(8, 4, 4), 4);

        var memory = norm.Memory(new LayerNeeds(true, true, 1, GradientChecker.Frozen(norm)), batch: 3);

        Assert.Equal(new LayerMemory(SavedFloats: 3 * (8 * 4 * 4 + 4)), memory);
    }

    [Fact]
    public void Memory_ShiftOnly_SavesNothing()
    {
        var norm = new GroupNorm("gn", new Shape(8, 4, 4), 4);

        var memory = norm.Memory(new LayerNeeds(true, true, 0, GradientChecker.SelectOnly(norm, 1)), batch: 3);

        Assert.Equal(default, memory);
    }

    [Fact]
    public void Initialize_AnySeed_ScaleOneShiftZero()
    {
        var norm = new GroupNorm("gn", new Shape(4, 2, 2), 2);
        GradientChecker.BindRandomParameters(norm, new Rng(5));

        norm.Initialize(new Rng(6));

        Assert.All(norm.Parameters[0].Data.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(norm.Parameters[1].Data.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Forward_UnitScaleZeroShift_GivesZeroMeanUnitVariancePerGroup()
    {
        var norm = new GroupNorm("gn", new Shape(4, 3, 3), 2);
        GradientChecker.BindRandomParameters(norm, new Rng(5));
        norm.Initialize(new Rng(6));
        var x = GradientChecker.Uniform(new Rng(7), 36, -3f, 5f);
        var y = new float[36];

        norm.Forward(new ForwardContext { Batch = 1, X = x, Y = y }, LayerNeeds.Inference);

        for (int g = 0; g < 2; g++)
        {
            var group = y.AsSpan(g * 18, 18).ToArray();
            double mean = group.Average(v => (double)v);
            double variance = group.Average(v => (v - mean) * (v - mean));
            Assert.Equal(0, mean, 1e-5);
            Assert.Equal(1, variance, 1e-3);
        }
    }
}
