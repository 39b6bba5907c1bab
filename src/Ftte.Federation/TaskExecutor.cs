using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Training;

namespace Ftte.Federation;

/// <summary>What one task's local training produced: Δ over the whole model (zero outside the trained ranges).</summary>
public sealed record LocalResult(float[] Delta, WeightRange[] Ranges, TrainingResult Training);

/// <summary>
/// The device side of a task, shared by the simulator's workers and the real device client: copy the base
/// weights into this executor's model, train the task's trainable set on the local data, return Δ. Training
/// sessions (their planned buffers) are cached per trainable set, batch and optimizer; the optimizer state is
/// reset per task. A result depends only on the base weights, the data and the seed.
/// </summary>
public sealed class TaskExecutor(Model model)
{
    private readonly Dictionary<(string, int, OptimizerOptions), (TrainingSession Session, WeightRange[] Ranges)> _sessions = [];

    /// <summary>This executor's own model copy (its weights are the last task's trained weights).</summary>
    public Model Model { get; } = model;

    public LocalResult Run<TSource>(TaskSpec spec, ReadOnlySpan<float> baseWeights, TSource data, ulong seed) where TSource : ISampleSource
    {
        if (baseWeights.Length != Model.ParameterCount)
            throw new ArgumentException($"Base weights have {baseWeights.Length} values; model '{Model.Name}' has {Model.ParameterCount}.", nameof(baseWeights));
        var key = (spec.TrainableKey, spec.Local.BatchSize, spec.Local.Optimizer);
        if (!_sessions.TryGetValue(key, out var entry))
        {
            entry = (new TrainingSession(Model, spec.Trainable, spec.Local.BatchSize, spec.Local.Optimizer), spec.Trainable.Ranges(Model));
            _sessions[key] = entry;
        }
        baseWeights.CopyTo(Model.Weights);
        entry.Session.ResetOptimizer();
        var result = LocalTrainer.Train(entry.Session, data, spec.Local.Epochs, new Rng(seed), spec.Local.Schedule);
        var delta = new float[baseWeights.Length];
        var trained = Model.Weights;
        foreach (var r in entry.Ranges)
            for (int j = r.Offset; j < r.End; j++)
                delta[j] = trained[j] - baseWeights[j];
        return new LocalResult(delta, entry.Ranges, result);
    }
}
