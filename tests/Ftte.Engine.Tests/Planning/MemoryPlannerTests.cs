using Ftte.Core;
using Ftte.Engine.Models;
using Ftte.Engine.Planning;
using Ftte.Engine.Training;

namespace Ftte.Engine.Tests.Planning;

public class MemoryPlannerTests
{
    public static TheoryData<string, string, int> Configurations => new()
    {
        { "mlp", "all", 32 }, { "mlp", "bias", 32 }, { "mlp", "last:1", 7 }, { "mlp", "fc2=1/4,fc3", 16 },
        { "lenet", "all", 32 }, { "lenet", "bias", 8 }, { "lenet", "conv2=1/2,fc2", 32 }, { "lenet", "conv1.weight=c0;c3;c5", 4 },
        { "mobilenetv2-tiny", "all", 4 }, { "mobilenetv2-tiny", "last:3", 4 }, { "mobilenetv2-tiny", "block4=1/4,classifier", 2 },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Step_FullBatch_ArenaHighWaterEqualsPlannedArena(string modelName, string trainable, int batch)
    {
        var model = BuiltInModels.Create(modelName, seed: 3);
        var session = new TrainingSession(model, TrainableSet.Parse(model, trainable), batch, new SgdOptions { Momentum = 0.9f });
        var data = TestData.Blobs(model.InputShape, batch, model.ClassCount, seed: 4);

        LocalTrainer.Train(session, data, epochs: 1, new Rng(5));

        Assert.Equal(session.Plan.ArenaBytes, session.ArenaHighWaterBytes);
        Assert.Equal(session.Plan.PeakBytes, model.ParameterBytes + session.ArenaHighWaterBytes);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Plan_Categories_SumToPeak(string modelName, string trainable, int batch)
    {
        var model = BuiltInModels.Create(modelName);
        var plan = MemoryPlanner.PlanTraining(model, TrainableSet.Parse(model, trainable), batch, new AdamOptions());

        long sum = plan.Categories.Sum(c => c.Bytes);

        Assert.Equal(plan.PeakBytes, sum);
        Assert.All(plan.Categories, c => Assert.True(c.Bytes >= 0, c.Category));
    }

    [Fact]
    public void Plan_NoTwoLiveBuffers_Overlap()
    {
        var model = BuiltInModels.MobileNetV2Tiny();
        var plan = MemoryPlanner.PlanTraining(model, TrainableSet.All(model), 4, new SgdOptions { Momentum = 0.9f });

        var buffers = plan.Buffers;
        for (int i = 0; i < buffers.Count; i++)
            for (int j = i + 1; j < buffers.Count; j++)
            {
                if (!buffers[i].Overlaps(buffers[j])) continue;
                bool disjoint = buffers[i].Offset + buffers[i].Floats <= buffers[j].Offset || buffers[j].Offset + buffers[j].Floats <= buffers[i].Offset;
                Assert.True(disjoint, $"{buffers[i].Name} and {buffers[j].Name} are alive together but share bytes");
            }
    }

    [Fact]
    public void Plan_OptimizerState_MatchesOptimizerKind()
    {
        var model = BuiltInModels.Mlp();
        var all = TrainableSet.All(model);

        var plain = MemoryPlanner.PlanTraining(model, all, 32, new SgdOptions());
        var momentum = MemoryPlanner.PlanTraining(model, all, 32, new SgdOptions { Momentum = 0.9f });
        var adam = MemoryPlanner.PlanTraining(model, all, 32, new AdamOptions());

        Assert.Equal(0, plain.OptimizerStateBytes);
        Assert.Equal(model.ParameterBytes, momentum.OptimizerStateBytes);
        Assert.Equal(2 * model.ParameterBytes, adam.OptimizerStateBytes);
        Assert.Equal(model.ParameterBytes, momentum.GradientBytes);
    }

    [Fact]
    public void Plan_BiasOnly_KeepsNoInputsForWeightGradients()
    {
        var model = BuiltInModels.LeNet();
        var full = MemoryPlanner.PlanTraining(model, TrainableSet.All(model), 32, new SgdOptions());
        var bias = MemoryPlanner.PlanTraining(model, TrainableSet.BiasOnly(model), 32, new SgdOptions());

        // TinyTL: bias gradients need only dY, so no conv/linear layer keeps its input; ReLU masks and
        // pooling indices are still kept to back-propagate through.
        for (int i = 0; i < model.Layers.Count; i++)
            if (model.Layers[i] is Layers.Conv2d or Layers.Linear)
                Assert.False(model.Layers[i].Memory(bias.Needs[i], 32).KeepInputs, model.Layers[i].Name);
        Assert.True(bias.SavedActivationBytes < full.SavedActivationBytes, $"{bias.SavedActivationBytes} vs {full.SavedActivationBytes}");
        Assert.True(bias.PeakBytes < full.PeakBytes);
    }

    [Fact]
    public void Plan_Relu_KeepsOneBitPerElement_NotItsOutput()
    {
        var model = BuiltInModels.LeNet();
        var plan = MemoryPlanner.PlanTraining(model, TrainableSet.All(model), 16, new SgdOptions());
        int relu1 = Enumerable.Range(0, model.Layers.Count).First(i => model.Layers[i].Name == "relu1");
        long elements = 16L * model.Layers[relu1].OutputShape.Size;

        var mask = Assert.Single(plan.Buffers, b => b.Name == "relu1.saved");
        Assert.Equal((elements + 31) / 32 * 4, mask.Bytes);
        // The output itself dies at its last forward reader (max pooling), long before relu1's backward.
        var output = Assert.Single(plan.Buffers, b => b.Kind == BufferKind.Activation && b.Name.Contains("relu1.out", StringComparison.Ordinal));
        Assert.True(output.LastStep < 2 * model.Layers.Count - relu1, $"{output.Name} alive until step {output.LastStep}");
    }

    [Fact]
    public void Plan_InPlace_ReluTakesItsInputsBuffer_OnlyWhenNothingReadsTheInputLater()
    {
        // conv1 → relu1: conv1's output is read by relu1 alone, so relu1 writes over it, and relu1's backward writes conv1's
        // gradient over its own. In the residual block the conv output also feeds the add: the ReLU6 needs its own buffer.
        var lenet = MemoryPlanner.PlanTraining(BuiltInModels.LeNet(), TrainableSet.All(BuiltInModels.LeNet()), 16, new SgdOptions());
        Assert.Contains(lenet.Buffers, b => b.Name == "conv1.out = relu1.out");
        Assert.Contains(lenet.Buffers, b => b.Name == "relu1.grad = conv1.grad");

        var b = new ModelBuilder("residual", new Shape(4, 5, 5));
        var x = b.Conv2d(b.Input, 4, kernel: 3, padding: 1, name: "conv1");
        x = b.Add(x, b.Conv2d(b.Relu6(x, "act"), 4, kernel: 1, name: "conv2"));
        var residual = b.Build(b.Linear(b.GlobalAvgPool(x), 3, "fc"), seed: 3);
        var plan = MemoryPlanner.PlanTraining(residual, TrainableSet.All(residual), 4, new SgdOptions());
        Assert.Contains(plan.Buffers, b => b.Name == "act.out");
        Assert.Contains(plan.Buffers, b => b.Name == "conv1.out");
    }

    [Fact]
    public void Plan_LastLayerOnly_BackwardStopsAboveFrozenLayers()
    {
        var model = BuiltInModels.LeNet();
        var plan = MemoryPlanner.PlanTraining(model, TrainableSet.LastLayers(model, 1), 32, new SgdOptions());

        // Only fc2 runs backward: no activation gradient buffers below it, and its input is the only saved activation.
        Assert.DoesNotContain(plan.Buffers, b => b.Kind == BufferKind.ActivationGradient && !b.Name.StartsWith("fc2", StringComparison.Ordinal));
        Assert.Equal(32L * 64 * 4, plan.SavedActivationBytes);
    }

    [Fact]
    public void BackwardFlops_ShrinkWithTrainableSet()
    {
        var model = BuiltInModels.LeNet();
        long Backward(string t) => MemoryPlanner.PlanTraining(model, TrainableSet.Parse(model, t), 32, new SgdOptions()).BackwardFlopsPerSample;

        long all = Backward("all"), half = Backward("conv1=1/2,conv2=1/2,fc1=1/2,fc2=1/2"), last = Backward("last:1"), none = Backward("none");

        Assert.True(all > half, $"all {all} vs half {half}");
        Assert.True(half > last, $"half {half} vs last {last}");
        Assert.Equal(0, none);
        Assert.Equal(2L * 64 * 10 + 10, last); // fc2: weight grad (2·In·Out) + bias grad (Out); no input grad
    }

    [Fact]
    public void EnsureFits_OverBudget_ErrorNamesBudgetNeedAndLargestConsumer()
    {
        var model = BuiltInModels.LeNet();
        var plan = MemoryPlanner.PlanTraining(model, TrainableSet.All(model), 256, new AdamOptions());

        var e = Assert.Throws<MemoryBudgetExceededException>(() => plan.EnsureFits(256 * 1024));

        Assert.Equal(256 * 1024, e.BudgetBytes);
        Assert.Equal(plan.PeakBytes, e.NeededBytes);
        Assert.Contains("256.0 KiB", e.Message);
        Assert.Contains(MemoryPlan.FormatBytes(plan.PeakBytes), e.Message);
        Assert.Contains(plan.Categories[0].Category, e.Message);
    }

    [Fact]
    public void TrainingSession_OverBudget_IsRefusedBeforeAllocating()
    {
        var model = BuiltInModels.Mlp();

        Assert.Throws<MemoryBudgetExceededException>(() => new TrainingSession(model, TrainableSet.All(model), 64, new SgdOptions(), memoryBudgetBytes: 100_000));
    }

    [Fact]
    public void Inference_KeepsNothingForBackward()
    {
        var plan = MemoryPlanner.PlanInference(BuiltInModels.LeNet(), 64);

        Assert.Equal(0, plan.SavedActivationBytes);
        Assert.Equal(0, plan.GradientBytes);
        Assert.Equal(0, plan.BackwardFlopsPerSample);
    }
}

/// <summary>The streamed frozen prefix: planned smaller, and the same loss and gradients as running the prefix whole.</summary>
public class StreamedPrefixTests
{
    [Theory]
    [InlineData("lenet", "fc1.weight=1/2,fc1.bias,fc2.weight=1/8", 16, 1, true)]
    [InlineData("lenet", "fc2.bias", 16, 3, true)]          // a chunk that does not divide the batch (16 = 5·3 + 1)
    [InlineData("lenet", "conv2=1/2,fc2", 8, 1, false)]     // the prefix ends at maxpool1; the peak is in fc1's backward
    [InlineData("mobilenetv2-tiny", "block5=1/2,classifier", 4, 1, true)]   // residual blocks: the cut stops before any skip
    public void Streamed_EqualsWhole_AndPlansNoMore(string modelName, string trainable, int batch, int chunk, bool smaller)
    {
        var model = BuiltInModels.Create(modelName, seed: 21);
        var set = TrainableSet.Parse(model, trainable);
        var streamed = new PlanRunner(model, MemoryPlanner.PlanTraining(model, set, batch, new SgdOptions(), streamChunk: chunk));
        var whole = new PlanRunner(model, MemoryPlanner.PlanTraining(model, set, batch, new SgdOptions(), streamChunk: batch));
        Assert.True(streamed.Plan.StreamedPrefix > 0, "nothing streamed");
        Assert.Equal(0, whole.Plan.StreamedPrefix);
        Assert.True(smaller ? streamed.Plan.PeakBytes < whole.Plan.PeakBytes : streamed.Plan.PeakBytes <= whole.Plan.PeakBytes,
            $"{streamed.Plan.PeakBytes} vs {whole.Plan.PeakBytes}");

        var rng = new Rng(22);
        var inputs = new float[streamed.Input.Length];
        var labels = new int[batch];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = (float)rng.NextGaussian();
        for (int i = 0; i < batch; i++) labels[i] = rng.NextInt(model.ClassCount);
        foreach (var r in new[] { streamed, whole })
        {
            inputs.CopyTo(r.Input);
            labels.CopyTo(r.Labels);
        }

        var (lossS, correctS) = streamed.ForwardAndLoss(batch);
        var (lossW, correctW) = whole.ForwardAndLoss(batch);
        streamed.Backward(batch);
        whole.Backward(batch);

        Assert.Equal(lossW, lossS, 1e-5);
        Assert.Equal(correctW, correctS);
        var selections = set.Resolve(model);
        for (int p = 0; p < model.Parameters.Count; p++)
        {
            if (selections[p] is null) continue;
            var gs = streamed.ParameterGradient(p).ToArray();
            var gw = whole.ParameterGradient(p).ToArray();
            for (int k = 0; k < gw.Length; k++)
                Assert.True(Math.Abs(gs[k] - gw[k]) <= 1e-5 + 1e-4 * Math.Abs(gw[k]), $"{model.Parameters[p].Name}[{k}]: {gs[k]} vs {gw[k]}");
        }
    }

    [Fact]
    public void Step_Streamed_ArenaHighWaterEqualsPlannedArena()
    {
        var model = BuiltInModels.LeNet(seed: 3);
        var session = new TrainingSession(model, TrainableSet.Parse(model, "fc1=1/4,fc2"), 16, new SgdOptions());
        Assert.True(session.Plan.StreamedPrefix > 0);

        LocalTrainer.Train(session, TestData.Blobs(model.InputShape, 16, model.ClassCount, seed: 4), epochs: 1, new Rng(5));

        Assert.Equal(session.Plan.ArenaBytes, session.ArenaHighWaterBytes);
    }

    [Fact]
    public void AllTrained_StreamsNothing()
    {
        var model = BuiltInModels.LeNet();
        Assert.Equal(0, MemoryPlanner.PlanTraining(model, TrainableSet.All(model), 16, new SgdOptions()).StreamedPrefix);
        Assert.Equal(0, MemoryPlanner.PlanInference(model, 16).StreamedPrefix);
    }
}
