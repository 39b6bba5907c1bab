using Ftte.Engine;
using Ftte.Federation;

namespace Ftte.Client;

/// <summary>
/// What the server asks the device to train. <see cref="Parameters"/> are the base version's full weights;
/// only the coordinates in <see cref="Trainable"/> may change (the rest is frozen and is not sent back).
/// </summary>
/// <param name="Architecture">A model of the federation's architecture holding <see cref="Parameters"/>; the trainer may train it in place.</param>
public sealed record TrainingRequest(long TaskId, int BaseVersion, Model Architecture, ReadOnlyMemory<float> Parameters,
    TrainableSet TrainableSet, IReadOnlyList<WeightRange> Trainable, LocalTraining Settings, ulong Seed);

/// <summary>A device's result: Δ = trained − base over the whole model (only <see cref="TrainingRequest.Trainable"/> is sent).</summary>
/// <param name="ValidationBefore">Accuracy of the base weights on the device's validation data, when the trainer measures it (for <see cref="UpdateChecks.MaxAccuracyDrop"/>).</param>
/// <param name="ValidationAfter">Accuracy of the trained weights on the same data.</param>
public sealed record LocalUpdate(float[] Delta, int Samples, double Loss = double.NaN, double Accuracy = double.NaN,
    double? ValidationBefore = null, double? ValidationAfter = null);

/// <summary>
/// The app's own training loop, for embedding a federation client in any .NET app: any code that takes
/// parameters and returns an update. <see cref="EngineTrainer"/> is the built-in one (FTTE's engine on an
/// <see cref="Ftte.Core.ISampleSource"/>).
/// </summary>
public interface ILocalTrainer
{
    /// <summary>Local training samples (declared at enrolment; the weight of this device's updates).</summary>
    int Samples { get; }

    Task<LocalUpdate> TrainAsync(TrainingRequest request, CancellationToken ct);
}

/// <summary>
/// The built-in trainer: the engine's exact-memory training of the task's trainable set on local data. With
/// <paramref name="validation"/> data it also measures accuracy before and after training (for the validation hooks).
/// </summary>
public sealed class EngineTrainer<TSource>(TSource data, TSource? validation = default) : ILocalTrainer where TSource : Ftte.Core.ISampleSource
{
    private TaskExecutor? _executor;
    private Ftte.Engine.Training.Evaluator? _evaluator;
    private Model? _evalModel;

    public int Samples => data.Count;

    public Task<LocalUpdate> TrainAsync(TrainingRequest request, CancellationToken ct)
    {
        // One executor per architecture: its training sessions (planned buffers) are reused across tasks.
        if (_executor is null || _executor.Model.ParameterCount != request.Architecture.ParameterCount)
            _executor = new TaskExecutor(request.Architecture.Clone());
        var spec = new TaskSpec(request.TrainableSet, request.Settings);
        return Task.Run(() =>
        {
            var result = _executor.Run(spec, request.Parameters.Span, data, request.Seed);
            double? before = null, after = null;
            if (validation is { Count: > 0 } v)
            {
                _evalModel ??= request.Architecture.Clone();
                _evaluator ??= new Ftte.Engine.Training.Evaluator(_evalModel);
                request.Parameters.Span.CopyTo(_evalModel.Weights);
                before = _evaluator.Evaluate(v).Accuracy;
                _executor.Model.Weights.CopyTo(_evalModel.Weights);
                after = _evaluator.Evaluate(v).Accuracy;
            }
            return new LocalUpdate(result.Delta, data.Count, result.Training.MeanLoss, result.Training.Accuracy, before, after);
        }, ct);
    }
}
