using Ftte.Core;
using Ftte.Engine.Models;
using Ftte.Engine.Planning;
using Ftte.Engine.Training;

namespace Ftte.Engine.Tests.Training;

/// <summary>
/// Whole-model gradient check through the planner, the arena and the runner: every trained gradient
/// element the session computes matches a central finite difference of the loss. Catches wiring bugs
/// (buffer reuse, gradient clearing, residual accumulation) that per-layer checks cannot see.
/// </summary>
public class ModelGradientTests
{
    [Theory]
    [InlineData("mlp-small", "all", 5)]
    [InlineData("mlp-small", "fc2=c1;c3,fc3.bias", 5)]
    [InlineData("lenet-small", "all", 3)]
    [InlineData("lenet-small", "conv2.weight=c0;c2,fc2", 3)]
    [InlineData("mobilenet-small", "all", 2)]
    [InlineData("residual-linear", "all", 3)]
    [InlineData("residual-conv", "all", 3)]
    [InlineData("residual-gn", "all", 3)]
    [InlineData("depthwise-gn", "all", 3)]
    [InlineData("residual-gn", "conv1=1/2", 3)]
    [InlineData("residual-gn", "conv1=1/2,gn1=1/2", 3)]
    [InlineData("residual-gn", "gn1=1/2,fc", 3)]
    [InlineData("depthwise-gn", "expand=1/2", 3)]
    [InlineData("depthwise-gn", "expand=1/2,gn1=1/2", 3)]
    [InlineData("depthwise-gn", "gn1=1/2,fc", 3)]
    [InlineData("depthwise-gn", "dw=1/2,expand", 3)]
    [InlineData("depthwise-gn", "dw=c1;c3,expand", 3)]
    [InlineData("depthwise-gn", "gn2=1/2,expand", 3)]
    [InlineData("depthwise-gn", "expand,fc", 3)]
    [InlineData("mobilenet-small", "block2=1/2,classifier", 2)]
    public void Backward_MatchesFiniteDifferences(string name, string trainable, int batch)
    {
        var model = name switch
        {
            "mlp-small" => BuiltInModels.Mlp(inputs: 12, classes: 5, seed: 3),
            "lenet-small" => BuiltInModels.LeNet(new Shape(1, 8, 8), classes: 4, seed: 3),
            "mobilenet-small" => BuiltInModels.MobileNetV2Tiny(new Shape(3, 16, 16), classes: 4, seed: 3),
            _ => Small(name),
        };
        var set = TrainableSet.Parse(model, trainable);
        var selections = set.Resolve(model);
        var runner = new PlanRunner(model, MemoryPlanner.PlanTraining(model, set, batch, new SgdOptions()));
        var rng = new Rng(4);
        var inputs = new float[runner.Input.Length];
        var labels = new int[batch];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = (float)rng.NextGaussian();
        for (int i = 0; i < batch; i++) labels[i] = rng.NextInt(model.ClassCount);

        // The arena reuses the input and label bytes once they are dead, so refill before every forward.
        double Loss()
        {
            inputs.CopyTo(runner.Input);
            labels.CopyTo(runner.Labels);
            return runner.ForwardAndLoss(batch).Loss;
        }

        Loss();
        runner.Backward(batch);

        int checkedCount = 0, kinks = 0, mismatches = 0;
        string firstMismatch = "";
        double centre = Loss();
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            if (selections[p] is not { } s) continue;
            var param = model.Parameters[p];
            var grad = runner.ParameterGradient(p).ToArray();
            for (int j = 0; j < s.Count; j++)
                for (int k = 0; k < param.ChannelSize; k += Math.Max(1, param.ChannelSize / 7))
                {
                    int index = param.Offset + s.Channels[j] * param.ChannelSize + k;
                    var (numeric, smooth) = NumericGradient(model, Loss, centre, index);
                    if (!smooth) { kinks++; continue; }
                    double analytic = grad[j * param.ChannelSize + k];
                    double tolerance = 1e-3 + 1e-2 * Math.Abs(numeric);
                    if (Math.Abs(numeric - analytic) > tolerance && mismatches++ == 0)
                        firstMismatch = $"{param.Name}[channel {s.Channels[j]}, {k}]: analytic {analytic:G5}, numeric {numeric:G5}";
                    checkedCount++;
                }
        }
        Assert.True(checkedCount >= 4, $"only {checkedCount} elements checked");
        Assert.True(kinks <= checkedCount / 10, $"{kinks} kinks for {checkedCount} smooth checks");
        // A perturbation can still cross a ReLU or max-pool switch that the one-sided test misses; a wiring
        // bug shows as many mismatches, a kink as one or two.
        Assert.True(mismatches <= Math.Max(1, checkedCount / 100), $"{mismatches} of {checkedCount} elements disagree; first: {firstMismatch}");
    }

    /// <summary>
    /// Central difference, and whether the loss is smooth there: ReLU and max-pool kinks make the two
    /// one-sided differences disagree, and such points are skipped rather than compared.
    /// </summary>
    /// <summary>Small graphs isolating one mechanism: residual adds (two consumers of one value), GroupNorm, depthwise.</summary>
    private static Model Small(string name)
    {
        var b = new ModelBuilder(name, name == "residual-linear" ? new Shape(6) : new Shape(4, 5, 5));
        NodeRef x;
        switch (name)
        {
            case "residual-linear":
                x = b.Linear(b.Input, 6, "fc1");
                x = b.Add(x, b.Relu(b.Linear(x, 6, "fc2")));
                x = b.Linear(x, 3, "fc3");
                break;
            case "residual-conv":
                x = b.Conv2d(b.Input, 4, kernel: 3, padding: 1, name: "conv1");
                x = b.Add(x, b.Conv2d(b.Relu6(x), 4, kernel: 1, name: "conv2"));
                x = b.Linear(b.GlobalAvgPool(x), 3, "fc");
                break;
            case "residual-gn":
                x = b.GroupNorm(b.Conv2d(b.Input, 4, kernel: 3, padding: 1, name: "conv1"), 2, "gn1");
                x = b.Add(x, b.GroupNorm(b.Conv2d(x, 4, kernel: 1, name: "conv2"), 2, "gn2"));
                x = b.Linear(b.GlobalAvgPool(x), 3, "fc");
                break;
            default:
                x = b.GroupNorm(b.Conv2d(b.Input, 8, kernel: 1, name: "expand"), 4, "gn1");
                x = b.GroupNorm(b.Conv2d(x, 8, kernel: 3, stride: 2, padding: 1, groups: 8, name: "dw"), 4, "gn2");
                x = b.Linear(b.GlobalAvgPool(x), 3, "fc");
                break;
        }
        return b.Build(x, seed: 3);
    }

    private static (double Gradient, bool Smooth) NumericGradient(Model model, Func<double> loss, double centre, int index)
    {
        const float h = 3e-4f; // GroupNorm over small groups is strongly curved: at h = 1e-3 the central difference is off by 4%
        var w = model.Weights;
        float original = w[index];
        w[index] = original + h;
        double plus = loss();
        w[index] = original - h;
        double minus = loss();
        w[index] = original;
        double forward = (plus - centre) / h, backward = (centre - minus) / h;
        return ((plus - minus) / (2 * h), Math.Abs(forward - backward) <= 2e-3 + 5e-2 * Math.Abs(forward + backward));
    }
}
