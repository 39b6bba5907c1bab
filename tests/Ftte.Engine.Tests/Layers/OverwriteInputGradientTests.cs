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
    public static TheoryData<string> Layers() => new() { "relu", "relu6", "flatten", "linear" };

    private static Layer Create(string kind) => kind switch
    {
        "relu" => new Activation("act", new Shape(37), ActivationKind.Relu),
        "relu6" => new Activation("act", new Shape(37), ActivationKind.Relu6),
        "flatten" => new Flatten("flat", new Shape(3, 5, 5)),
        "linear" => new Linear("fc", new Shape(37), 11),
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
