using Ftte.Engine.Layers;

namespace Ftte.Engine.Tests.LayersTests;

public sealed class LayerAllocationTests
{
    public static TheoryData<string> LayerKinds => new()
    {
        "conv", "conv-grouped", "conv-depthwise", "conv-pointwise", "maxpool", "avgpool", "globalavgpool", "groupnorm", "add",
    };

    private static Layer Create(string kind) => kind switch
    {
        "conv" => new Conv2d("conv", new Shape(3, 8, 8), 8, 3, stride: 2, padding: 1),
        "conv-grouped" => new Conv2d("conv", new Shape(4, 8, 8), 8, 3, padding: 1, groups: 2),
        "conv-depthwise" => new Conv2d("conv", new Shape(8, 8, 8), 8, 3, padding: 1, groups: 8),
        "conv-pointwise" => new Conv2d("conv", new Shape(8, 8, 8), 16, 1),
        "maxpool" => new MaxPool2d("pool", new Shape(4, 8, 8), 2, 2),
        "avgpool" => new AvgPool2d("pool", new Shape(4, 8, 8), 2, 2),
        "globalavgpool" => new GlobalAvgPool("gap", new Shape(4, 8, 8)),
        "groupnorm" => new GroupNorm("gn", new Shape(8, 4, 4), 4),
        "add" => new Add("add", new Shape(4, 4, 4), new Shape(4, 4, 4)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    [Theory]
    [MemberData(nameof(LayerKinds))]
    public void ForwardBackward_AfterWarmUp_AllocatesNothing(string kind)
    {
        var layer = Create(kind);
        // A non-contiguous subset exercises the gathers; every input gradient is requested.
        var selections = layer.Parameters.Count == 0 ? null : GradientChecker.Select(layer, 0, 2, 3);
        var checker = new GradientChecker(layer, selections, inputGradMask: (1 << layer.InputShapes.Count) - 1, batch: 3);

        Assert.Equal(0, checker.AllocatedBytes(repeats: 10));
    }
}
