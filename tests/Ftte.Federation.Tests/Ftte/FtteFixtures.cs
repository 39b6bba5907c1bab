using Ftte.Core;
using Ftte.Data;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Planning;
using Ftte.Engine.Training;

namespace Ftte.Federation.Tests.FtteTests;

/// <summary>Small shared inputs: digits (8×8) and the 64-input MLP, so every FTTE test stays well under a second or two.</summary>
internal static class FtteFixtures
{
    private static readonly Lazy<DatasetSplits> Digits = new(() => DatasetCatalog.Load("digits"));

    public static OptimizerOptions Sgd { get; } = new SgdOptions { LearningRate = 0.05f };

    public static Model Mlp() => BuiltInModels.Mlp(inputs: 64, seed: 3);

    /// <summary>A seeded slice of the digits training split: the server's proxy set.</summary>
    public static ISampleSource Proxy(int count = 240)
    {
        var train = Digits.Value.Train;
        var order = Enumerable.Range(0, train.Count).ToArray();
        new Rng(7).Shuffle(order.AsSpan());
        return train.View(order[..count]);
    }

    public static long Peak(Model model, TrainableSet set, int batch) =>
        MemoryPlanner.PlanTraining(model, set, batch, Sgd).PeakBytes;
}
