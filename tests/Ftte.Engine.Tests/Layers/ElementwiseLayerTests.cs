using Ftte.Core;
using Ftte.Engine.Layers;

namespace Ftte.Engine.Tests.LayersTests;

/// <summary>Gradient checks of the layers without spatial structure: linear, activations, flatten, add.</summary>
public sealed class ElementwiseLayerTests
{
    [Fact]
    public void Linear_Backward_AllChannels_MatchesFiniteDifferences()
    {
        var linear = new Linear("fc", new Shape(7), 5);

        new GradientChecker(linear, GradientChecker.Select(linear), inputGradMask: 1, batch: 3) { Step = 0.1 }.Check();
    }

    [Fact]
    public void Linear_Backward_ChannelSubset_MatchesFiniteDifferences()
    {
        var linear = new Linear("fc", new Shape(7), 5);

        new GradientChecker(linear, GradientChecker.Select(linear, 0, 2), inputGradMask: 1, batch: 3) { Step = 0.1 }.Check();
    }

    [Fact]
    public void Linear_Backward_ContiguousSubsetBatchSmallerThanPlanned_MatchesFiniteDifferences()
    {
        var linear = new Linear("fc", new Shape(7), 5);

        new GradientChecker(linear, GradientChecker.Select(linear, 1, 2, 3), inputGradMask: 0, batch: 2, plannedBatch: 4) { Step = 0.1 }.Check();
    }

    [Fact]
    public void Linear_Memory_FrozenWeightWithInputGradient_DoesNotKeepInput()
    {
        var linear = new Linear("fc", new Shape(7), 5);

        var memory = linear.Memory(new LayerNeeds(true, true, 1, GradientChecker.SelectOnly(linear, 1)), batch: 3);

        Assert.False(memory.KeepInputs);
    }

    [Theory]
    [InlineData(ActivationKind.Relu)]
    [InlineData(ActivationKind.Relu6)]
    public void Activation_Backward_MatchesFiniteDifferences(ActivationKind function)
    {
        var activation = new Activation("act", new Shape(3, 4, 4), function);
        // Spans both kinks of ReLU6 (0 and 6), never within a step of either.
        float[][] x = [GradientChecker.AwayFrom(new Rng(2), 2 * 48, -3f, 9f, margin: 0.05f, 0f, 6f)];

        new GradientChecker(activation, null, inputGradMask: 1, inputs: x) { Step = 1e-2 }.Check();
    }

    [Fact]
    public void Activation_Memory_NoInputGradient_KeepsNothing()
    {
        var activation = new Activation("act", new Shape(8), ActivationKind.Relu);

        Assert.Equal(default, activation.Memory(new LayerNeeds(true, true, 0, null), batch: 2));
    }

    [Fact]
    public void Flatten_Backward_MatchesFiniteDifferences()
    {
        var flatten = new Flatten("flat", new Shape(2, 3, 3));

        new GradientChecker(flatten, null, inputGradMask: 1) { Step = 0.1 }.Check();
    }

    [Theory]
    [InlineData(0b11)]
    [InlineData(0b01)]
    [InlineData(0b10)]
    public void Add_Backward_MatchesFiniteDifferences(int inputGradMask)
    {
        var add = new Add("add", new Shape(2, 3, 3), new Shape(2, 3, 3));

        new GradientChecker(add, null, inputGradMask) { Step = 0.1 }.Check();
    }

    [Fact]
    public void Add_Memory_KeepsNothing()
    {
        var add = new Add("add", new Shape(4), new Shape(4));

        Assert.Equal(default, add.Memory(new LayerNeeds(true, true, 0b11, null), batch: 2));
    }
}
