using Ftte.Core;
using Ftte.Data;
using Ftte.Engine.Models;
using Ftte.Engine.Training;

namespace Ftte.Engine.Tests.Training;

/// <summary>MNIST, fetched and cached by the product (DatasetCatalog), loaded once for this class.</summary>
public sealed class MnistFixture
{
    public MnistFixture() => Data = DatasetCatalog.Load("mnist");

    public DatasetSplits Data { get; }
    public ArraySamples Train => new(Data.Train.Features, Data.Train.Labels, Data.Train.SampleSize);
    public ArraySamples Test => new(Data.Test.Features, Data.Test.Labels, Data.Test.SampleSize);

    /// <summary>A seeded subset of the training set (for the partial-training checks, which need not run a full epoch).</summary>
    public ArraySamples TrainSubset(int count, ulong seed)
    {
        var order = Enumerable.Range(0, Data.Train.Count).ToArray();
        new Rng(seed).Shuffle(order.AsSpan());
        return new ArraySamples(Data.Train.Features, Data.Train.Labels, Data.Train.SampleSize, order[..count]);
    }
}

/// <summary>Centralised training on real MNIST: the engine's accuracy targets from the engine issue.</summary>
public class MnistTrainingTests(MnistFixture mnist) : IClassFixture<MnistFixture>
{
    private static double TrainAndTest(MnistFixture mnist, Model model, TrainableSet set, OptimizerOptions optimizer, int epochs, ArraySamples? train = null, int batch = 32)
    {
        var session = new TrainingSession(model, set, batch, optimizer);
        LocalTrainer.Train(session, train ?? mnist.Train, epochs, new Rng(7), LearningRateSchedule.Cosine);
        return new Evaluator(model).Evaluate(mnist.Test).Accuracy;
    }

    [Fact]
    public void Mlp_OneEpoch_ReachesAtLeast97Percent()
    {
        var model = BuiltInModels.Mlp(seed: 1);

        double accuracy = TrainAndTest(mnist, model, TrainableSet.All(model), new SgdOptions { LearningRate = 0.1f }, epochs: 1, batch: 8);

        Assert.True(accuracy >= 0.97, $"MLP test accuracy after one epoch: {accuracy:P2}");
    }

    [Fact]
    public void LeNet_TwoEpochs_ReachesAtLeast98Point5Percent()
    {
        var model = BuiltInModels.LeNet(seed: 1);

        double accuracy = TrainAndTest(mnist, model, TrainableSet.All(model), new SgdOptions { LearningRate = 0.05f, Momentum = 0.5f }, epochs: 2, batch: 16);

        Assert.True(accuracy >= 0.985, $"LeNet test accuracy after two epochs: {accuracy:P2}");
    }

    [Fact]
    public void LeNet_BiasOnlyFineTuning_StillLearns()
    {
        // TinyTL's setting: biases adapt a model that already has features. Pre-train briefly on 2,000
        // samples, then train only the biases (larger rate, as biases are few) on 10,000 others.
        var model = BuiltInModels.LeNet(seed: 1);
        var pretrain = new TrainingSession(model, TrainableSet.All(model), 16, new SgdOptions { LearningRate = 0.05f, Momentum = 0.5f });
        LocalTrainer.Train(pretrain, mnist.TrainSubset(2_000, 5), 1, new Rng(7), LearningRateSchedule.Cosine);
        var evaluator = new Evaluator(model);
        var before = evaluator.Evaluate(mnist.Test);

        var biasOnly = new TrainingSession(model, TrainableSet.BiasOnly(model), 16, new SgdOptions { LearningRate = 0.5f, Momentum = 0.9f });
        LocalTrainer.Train(biasOnly, mnist.TrainSubset(10_000, 3), 1, new Rng(7), LearningRateSchedule.Cosine);
        var after = evaluator.Evaluate(mnist.Test);

        Assert.True(after.Loss < 0.95 * before.Loss, $"bias-only fine-tuning: test loss {before.Loss:F4} → {after.Loss:F4}");
        Assert.True(after.Accuracy > before.Accuracy, $"bias-only fine-tuning: {before.Accuracy:P2} → {after.Accuracy:P2}");
    }

    [Fact]
    public void LeNet_LastTwoLayersOnly_StillLearns()
    {
        var model = BuiltInModels.LeNet(seed: 1);

        double accuracy = TrainAndTest(mnist, model, TrainableSet.LastLayers(model, 2), new SgdOptions { LearningRate = 0.05f, Momentum = 0.9f }, epochs: 1, mnist.TrainSubset(10_000, 3));

        Assert.True(accuracy > 0.85, $"last two layers: {accuracy:P1}");
    }
}
