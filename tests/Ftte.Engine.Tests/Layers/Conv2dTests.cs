using Ftte.Engine.Layers;

namespace Ftte.Engine.Tests.LayersTests;

public sealed class Conv2dTests
{
    // (in channels, H, W, out channels, kernel, stride, padding, groups)
    public static TheoryData<int, int, int, int, int, int, int, int> Configurations => new()
    {
        { 2, 5, 5, 4, 3, 1, 1, 1 },   // 3×3, same padding
        { 3, 7, 6, 4, 3, 2, 1, 1 },   // stride 2, padding, non-square input
        { 4, 5, 5, 6, 3, 1, 1, 2 },   // groups = 2
        { 2, 5, 5, 4, 3, 1, 1, 2 },   // one input channel per group, two outputs (GEMM path, not depthwise)
        { 4, 5, 5, 4, 3, 1, 1, 4 },   // depthwise
        { 4, 6, 7, 4, 3, 2, 1, 4 },   // depthwise, stride 2
        { 3, 3, 3, 3, 5, 1, 2, 3 },   // depthwise, kernel wider than the input: taps fall wholly in the padding
        { 1, 3, 3, 3, 5, 1, 2, 1 },   // the same through im2col
        { 4, 3, 3, 5, 1, 1, 0, 1 },   // 1×1: no im2col
        { 4, 3, 3, 4, 1, 1, 0, 2 },   // 1×1 grouped
        { 3, 5, 5, 4, 1, 2, 0, 1 },   // 1×1 stride 2: through im2col
    };

    private static Conv2d Create(int c, int h, int w, int outChannels, int kernel, int stride, int padding, int groups, bool bias = true) =>
        new("conv", new Shape(c, h, w), outChannels, kernel, stride, padding, groups, bias);

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Backward_AllChannels_MatchesFiniteDifferences(int c, int h, int w, int outChannels, int kernel, int stride, int padding, int groups)
    {
        var conv = Create(c, h, w, outChannels, kernel, stride, padding, groups);

        new GradientChecker(conv, GradientChecker.Select(conv), inputGradMask: 1) { Step = 0.1 }.Check();
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Backward_ChannelSubset_MatchesFiniteDifferences(int c, int h, int w, int outChannels, int kernel, int stride, int padding, int groups)
    {
        var conv = Create(c, h, w, outChannels, kernel, stride, padding, groups);

        new GradientChecker(conv, GradientChecker.Select(conv, 0, 2), inputGradMask: 1) { Step = 0.1 }.Check();
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Backward_FrozenWeightsInputGradientOnly_MatchesFiniteDifferences(int c, int h, int w, int outChannels, int kernel, int stride, int padding, int groups)
    {
        var conv = Create(c, h, w, outChannels, kernel, stride, padding, groups);

        new GradientChecker(conv, GradientChecker.Frozen(conv), inputGradMask: 1) { Step = 0.1 }.Check();
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Backward_WeightsOnlyNoInputGradient_MatchesFiniteDifferences(int c, int h, int w, int outChannels, int kernel, int stride, int padding, int groups)
    {
        var conv = Create(c, h, w, outChannels, kernel, stride, padding, groups);

        new GradientChecker(conv, GradientChecker.SelectOnly(conv, 0), inputGradMask: 0) { Step = 0.1 }.Check();
    }

    [Fact]
    public void Backward_SubsetSpanningGroupsNotOneRangeWithinAGroup_MatchesFiniteDifferences()
    {
        // Group 0 holds channels 0–3, group 1 channels 4–7: {0, 2} needs a gather, {5, 6} is a range.
        var conv = Create(4, 5, 5, 8, 3, 1, 1, 2);

        new GradientChecker(conv, GradientChecker.Select(conv, 0, 2, 5, 6), inputGradMask: 1) { Step = 0.1 }.Check();
    }

    [Fact]
    public void Backward_BiasOnly_MatchesFiniteDifferences()
    {
        var conv = Create(3, 6, 6, 4, 3, 2, 1, 1);

        new GradientChecker(conv, GradientChecker.SelectOnly(conv, 1), inputGradMask: 0) { Step = 0.1 }.Check();
    }

    [Fact]
    public void Backward_BatchSmallerThanPlanned_MatchesFiniteDifferences()
    {
        var conv = Create(3, 6, 6, 4, 3, 2, 1, 1);

        new GradientChecker(conv, GradientChecker.Select(conv, 1, 3), inputGradMask: 1, batch: 2, plannedBatch: 5) { Step = 0.1 }.Check();
    }

    [Fact]
    public void Memory_FrozenWeightsWithInputGradient_DoesNotKeepInput()
    {
        var conv = Create(3, 6, 6, 4, 3, 1, 1, 1);

        var memory = conv.Memory(new LayerNeeds(true, true, 1, GradientChecker.Frozen(conv)), batch: 4);

        Assert.False(memory.KeepInputs);
        Assert.Equal(0, memory.SavedFloats);
    }

    [Fact]
    public void Memory_BiasOnly_KeepsNothingAndNeedsNoBackwardWorkspace()
    {
        var conv = Create(3, 6, 6, 4, 3, 1, 1, 1);

        var memory = conv.Memory(new LayerNeeds(true, true, 0, GradientChecker.SelectOnly(conv, 1)), batch: 4);

        Assert.Equal(new LayerMemory(ForwardWorkspaceFloats: memory.ForwardWorkspaceFloats), memory);
    }

    [Fact]
    public void Memory_TrainedWeights_KeepsInput()
    {
        var conv = Create(3, 6, 6, 4, 3, 1, 1, 1);

        var memory = conv.Memory(new LayerNeeds(true, true, 0, GradientChecker.Select(conv, 0)), batch: 4);

        Assert.True(memory.KeepInputs);
    }

    [Fact]
    public void Memory_Depthwise_NeedsOnePaddedPlaneNotIm2ColColumns()
    {
        var conv = Create(8, 6, 6, 8, 3, 1, 1, 8);
        // One padded 8×8 plane and one output plane at width 8: (6 − 1)·8 + 6. Columns would be 9·36.
        const int floats = 8 * 8 + 5 * 8 + 6;

        var memory = conv.Memory(new LayerNeeds(true, true, 1, GradientChecker.Select(conv)), batch: 4);

        Assert.Equal(floats, memory.ForwardWorkspaceFloats);
        Assert.Equal(floats, memory.BackwardWorkspaceFloats);
    }

    [Fact]
    public void Memory_DepthwiseBiasOnly_NeedsNoBackwardWorkspace()
    {
        var conv = Create(8, 6, 6, 8, 3, 2, 1, 8);

        var memory = conv.Memory(new LayerNeeds(true, true, 0, GradientChecker.SelectOnly(conv, 1)), batch: 4);

        Assert.False(memory.KeepInputs);
        Assert.Equal(0, memory.BackwardWorkspaceFloats);
    }

    [Fact]
    public void ForwardFlops_Conv_CountsTwoPerMultiplyAddPlusBias()
    {
        var conv = Create(3, 8, 8, 4, 3, 2, 1, 1);   // output (4, 4, 4), K = 27

        Assert.Equal(2L * 4 * 27 * 16 + 4 * 16, conv.ForwardFlops);
    }

    [Fact]
    public void BackwardFlops_QuarterOfChannels_IsQuarterOfWeightGradientCost()
    {
        var conv = Create(3, 8, 8, 8, 3, 1, 1, 1, bias: false);
        var all = new LayerNeeds(true, true, 0, GradientChecker.Select(conv));
        var quarter = new LayerNeeds(true, true, 0, GradientChecker.Select(conv, 0, 5));

        Assert.Equal(conv.BackwardFlops(all) / 4, conv.BackwardFlops(quarter));
    }

    [Fact]
    public void BackwardFlops_InputGradient_AddsTheTransposedProduct()
    {
        var conv = Create(3, 8, 8, 8, 3, 1, 1, 1, bias: false);
        var frozen = new LayerNeeds(true, true, 1, GradientChecker.Frozen(conv));

        Assert.Equal(conv.ForwardFlops, conv.BackwardFlops(frozen));
    }
}
