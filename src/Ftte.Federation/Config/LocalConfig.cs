using Ftte.Core.Config;
using Ftte.Engine.Training;

namespace Ftte.Federation.Config;

public enum OptimizerKind { Sgd, Adam }

/// <summary>Local training on each device.</summary>
public sealed record LocalConfig
{
    [ConfigRange(1, 1000)]
    public int Epochs { get; init; } = 1;
    [ConfigDoc("Mini-batch size; the memory plan is made for it.")]
    [ConfigRange(1, 65536)]
    public int Batch { get; init; } = 16;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;
    [ConfigRange(0, 10)]
    public double LearningRate { get; init; } = 0.05;
    [ConfigDoc("SGD momentum (adds one state float per trained weight).")]
    [ConfigRange(0, 0.999)]
    public double Momentum { get; init; }
    [ConfigRange(0, 1)]
    public double WeightDecay { get; init; }
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Constant;

    public LocalTraining ToLocalTraining()
    {
        OptimizerOptions optimizer = Optimizer == OptimizerKind.Adam
            ? new AdamOptions { LearningRate = (float)LearningRate, WeightDecay = (float)WeightDecay }
            : new SgdOptions { LearningRate = (float)LearningRate, Momentum = (float)Momentum, WeightDecay = (float)WeightDecay };
        return new LocalTraining(Epochs, Batch, optimizer, new LearningRateSchedule(Schedule));
    }
}
