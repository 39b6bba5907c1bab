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
