using Ftte.Core;
using Ftte.Engine.Models;
using Ftte.Engine.Training;

namespace Ftte.Engine.Tests.Training;

public class TrainingSessionTests
{
    [Theory]
    [InlineData("mlp", "fc2=1/4,fc3.bias")]
    [InlineData("lenet", "conv2.weight=c1;c4;c9,fc1=1/8")]
    [InlineData("lenet", "bias")]
    [InlineData("mobilenetv2-tiny", "block5=1/2,classifier")]
    public void Step_PartialSet_FrozenElementsStayBitIdentical(string modelName, string trainable)
    {
        var model = BuiltInModels.Create(modelName, seed: 11);
        var set = TrainableSet.Parse(model, trainable);
        var selections = set.Resolve(model);
        var before = model.Weights.ToArray();
        var session = new TrainingSession(model, set, 8, new AdamOptions { LearningRate = 0.01f });

        LocalTrainer.Train(session, TestData.Blobs(model.InputShape, 24, 10, seed: 12), epochs: 2, new Rng(13));

        var after = model.Weights;
        int changed = 0;
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            var param = model.Parameters[p];
            for (int c = 0; c < param.OutputChannels; c++)
            {
                bool trained = selections[p] is { } s && s.Channels.Contains(c);
                for (int k = 0; k < param.ChannelSize; k++)
                {
                    int i = param.Offset + c * param.ChannelSize + k;
                    if (!trained)
                        Assert.True(BitConverter.SingleToInt32Bits(before[i]) == BitConverter.SingleToInt32Bits(after[i]), $"{param.Name}[{c}] changed but is frozen");
                    else if (before[i] != after[i]) changed++;
                }
            }
        }
        Assert.True(changed > 0, "no trainable element changed");
    }

    [Theory]
    [InlineData("mlp", 32, "all")]
    [InlineData("lenet", 16, "all")]
    [InlineData("lenet", 16, "fc1=1/4,fc2")]   // the frozen prefix streams one sample at a time
    [InlineData("mobilenetv2-tiny", 2, "all")]
    public void Step_AfterWarmUp_AllocatesNoManagedMemory(string modelName, int batch, string trainable)
    {
        var model = BuiltInModels.Create(modelName, seed: 1);
        var session = new TrainingSession(model, TrainableSet.Parse(model, trainable), batch, new AdamOptions());
        var data = TestData.Blobs(model.InputShape, batch, 10, seed: 2);
        LocalTrainer.Fill(data, Enumerable.Range(0, batch).ToArray(), session.Input, session.Labels);
        session.Step(batch);
        session.Step(batch - 1);

        // A step that allocates does so every time, so one clean window of five steps proves it does not. Several
        // windows are allowed because the runtime itself (tiered re-JIT, on-stack replacement) may allocate a few
        // kilobytes on this thread at a moment that depends on machine load.
        var windows = new List<long>();
        for (int w = 0; w < 10 && (windows.Count == 0 || windows[^1] != 0); w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++) session.Step(batch);
            windows.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.True(windows[^1] == 0, $"every window of 5 steps allocated: {string.Join(", ", windows)} bytes");
    }

    [Fact]
    public void Train_SameSeed_GivesBitIdenticalWeights()
    {
        float[] Run()
        {
            var model = BuiltInModels.LeNet(seed: 21);
            var session = new TrainingSession(model, TrainableSet.All(model), 16, new SgdOptions { LearningRate = 0.05f, Momentum = 0.9f });
            LocalTrainer.Train(session, TestData.Blobs(model.InputShape, 64, 10, seed: 22), 1, new Rng(23));
            return model.Weights.ToArray();
        }

        Assert.Equal(Run(), Run());
    }

    [Theory]
    [InlineData("all", 0.5, 0.9)]
    [InlineData("last:1", 0.5, 0.9)]
    [InlineData("bias", 0.95, 0.3)] // random frozen features, only offsets train: it learns, slowly
    public void Train_Blobs_LossFalls(string trainable, double maxLossRatio, double minAccuracy)
    {
        var model = BuiltInModels.Mlp(inputs: 20, classes: 4, seed: 31);
        var data = TestData.Blobs(new Shape(20), 512, 4, seed: 32);
        var session = new TrainingSession(model, TrainableSet.Parse(model, trainable), 32, new SgdOptions { LearningRate = 0.1f, Momentum = 0.9f });
        var evaluator = new Evaluator(model);
        double initial = evaluator.Evaluate(data).Loss;

        LocalTrainer.Train(session, data, epochs: 3, new Rng(33));
        var final = evaluator.Evaluate(data);

        Assert.True(final.Loss < maxLossRatio * initial, $"loss {initial:F3} → {final.Loss:F3}");
        Assert.True(final.Accuracy > minAccuracy, $"accuracy {final.Accuracy:P1}");
    }

    [Fact]
    public void Step_WrongSampleSize_ErrorNamesModelShape()
    {
        var model = BuiltInModels.Mlp();
        var session = new TrainingSession(model, TrainableSet.All(model), 8, new SgdOptions());

        var e = Assert.Throws<ArgumentException>(() => LocalTrainer.Train(session, TestData.Blobs(new Shape(10), 8, 10, 1), 1, new Rng(1)));

        Assert.Contains("(784)", e.Message);
    }

    [Fact]
    public void OptimizerOptions_BadLearningRate_Refused()
    {
        var model = BuiltInModels.Mlp();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingSession(model, TrainableSet.All(model), 8, new SgdOptions { LearningRate = -1 }));

        Assert.Contains("learning rate", e.Message);
    }

    [Theory]
    [InlineData("lenet", "fc1=1/4,fc2", 16, 3)]                        // a chunk that does not divide the batch
    [InlineData("mobilenetv2-tiny", "block5=1/2,classifier", 4, 1)]   // residual blocks in the prefix
    [InlineData("lenet", "all", 16, 4)]                                // nothing streamed
    public void StepTimed_EqualsStep_AndTimesEveryLayerOfAStreamedPrefix(string modelName, string trainable, int batch, int chunk)
    {
        // The per-layer profile (`bench train --profile --trainable`) steps through a streamed frozen prefix chunk by chunk.
        var timedModel = BuiltInModels.Create(modelName, seed: 31);
        var plainModel = timedModel.Clone();
        var optimizer = new SgdOptions { LearningRate = 0.05f, Momentum = 0.9f };
        var timed = new TrainingSession(timedModel, TrainableSet.Parse(timedModel, trainable), batch, optimizer, streamChunk: chunk);
        var plain = new TrainingSession(plainModel, TrainableSet.Parse(plainModel, trainable), batch, optimizer, streamChunk: chunk);
        var data = TestData.Blobs(timedModel.InputShape, batch, timedModel.ClassCount, seed: 32);
        int layers = timedModel.Layers.Count;
        var ticks = new long[2 * layers + 2];

        for (int step = 0; step < 2; step++)
        {
            foreach (var s in new[] { timed, plain }) LocalTrainer.Fill(data, Enumerable.Range(0, batch).ToArray(), s.Input, s.Labels);
            var a = timed.StepTimed(batch, ticks);
            var b = plain.Step(batch);
            Assert.Equal(b, a);
        }

        Assert.Equal(trainable != "all", timed.Plan.StreamedPrefix > 0);
        Assert.Equal(plainModel.Weights.ToArray(), timedModel.Weights.ToArray());
        Assert.Equal(2, timed.Steps);
        // Every layer that computes has its time (an in-place flatten may take less than a clock tick on some platforms).
        for (int i = 0; i < layers; i++)
            if (timedModel.Layers[i].ForwardFlops > 0) Assert.True(ticks[i] > 0, $"no forward time for {timedModel.Layers[i].Name}");
        Assert.True(ticks[2 * layers] > 0 && ticks[2 * layers + 1] > 0);
    }
}
