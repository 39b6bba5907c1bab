using Ftte.Core;
using Ftte.Engine.Layers;

namespace Ftte.Engine.Tests.LayersTests;

/// <summary>
/// Layers that can be the first writer of their input gradient without the runner clearing it
/// (<see cref="Layer.CanOverwriteInputGradient"/>): with <see cref="BackwardContext.OverwriteDx"/> over stale NaNs they
/// must give exactly what accumulating into zeros gives.
/// </summary>
public sealed class OverwriteInputGradientTests
{
    public static TheoryData<string> Layers() => new() { "relu", "relu6", "flatten", "linear", "maxpool-odd", "maxpool-wide", "maxpool-narrow" };

    private static Layer Create(string kind) => kind switch
    {
        "relu" => new Activation("act", new Shape(37), ActivationKind.Relu),
        "relu6" => new Activation("act", new Shape(37), ActivationKind.Relu6),
        "flatten" => new Flatten("flat", new Shape(3, 5, 5)),
        "linear" => new Linear("fc", new Shape(37), 11),
        "maxpool-odd" => new MaxPool2d("pool", new Shape(2, 5, 7), 2, 2),      // ragged last row and column, scalar windows
        "maxpool-wide" => new MaxPool2d("pool", new Shape(3, 6, 37), 2, 2),    // 18 windows a row: two 8-steps and an overlapping one
        "maxpool-narrow" => new MaxPool2d("pool", new Shape(2, 4, 14), 2, 2),  // 7 windows a row: two overlapping 4-steps
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void Backward_OverwriteDx_EqualsAccumulatingIntoZeros(string kind)
    {
        var layer = Create(kind);
        Assert.True(layer.CanOverwriteInputGradient);
        var rng = new Rng(5);
        GradientChecker.BindRandomParameters(layer, rng);
        const int batch = 3;
        var needs = new LayerNeeds(true, true, 1, GradientChecker.Frozen(layer));
        var memory = layer.Memory(needs, batch);
        var x = GradientChecker.Uniform(rng, batch * layer.InputShape.Size, -2f, 7f);
        var y = new float[batch * layer.OutputShape.Size];
        var saved = new float[memory.SavedFloats];
        layer.Forward(new ForwardContext { Batch = batch, X = x, Y = y, Saved = saved, Workspace = new float[memory.ForwardWorkspaceFloats] }, needs);
        var dy = GradientChecker.Uniform(rng, y.Length, -1f, 1f);
        var accumulated = new float[x.Length];
        var overwritten = GradientChecker.Filled(x.Length, float.NaN);

        foreach (var (dx, overwrite) in new[] { (accumulated, false), (overwritten, true) })
            layer.Backward(new BackwardContext
            {
                Batch = batch, X = x, Y = y, Dy = dy, Dx = dx, OverwriteDx = overwrite, Saved = saved,
                Workspace = new float[memory.BackwardWorkspaceFloats],
            }, needs);

        Assert.Equal(accumulated, overwritten);
    }
}
