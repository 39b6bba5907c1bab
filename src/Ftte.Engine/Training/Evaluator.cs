using Ftte.Engine.Planning;

namespace Ftte.Engine.Training;

/// <summary>
/// Forward-only evaluation with its own inference plan (no gradients, nothing kept for backward; outputs
/// are freed as soon as the next layer has read them). Reads the model's current weights each call.
/// </summary>
public sealed class Evaluator
{
    private readonly Model _model;
    private readonly PlanRunner _runner;

    public Evaluator(Model model, int batchSize = 256)
    {
        _model = model;
        Plan = MemoryPlanner.PlanInference(model, batchSize);
        _runner = new PlanRunner(model, Plan);
    }

    public MemoryPlan Plan { get; }

    /// <summary>Mean loss and accuracy of the model over every sample of <paramref name="source"/>.</summary>
    public StepResult Evaluate<TSource>(TSource source) where TSource : Ftte.Core.ISampleSource
    {
        LocalTrainer.CheckSize(_model, source);
        double lossSum = 0;
        int correct = 0;
        for (int start = 0; start < source.Count; start += Plan.Batch)
        {
            int count = Math.Min(Plan.Batch, source.Count - start);
            int size = source.SampleSize;
            var input = _runner.Input;
            var labels = _runner.Labels;
            for (int j = 0; j < count; j++)
            {
                source.Sample(start + j).CopyTo(input.Slice(j * size, size));
                labels[j] = source.Label(start + j);
            }
            var (loss, c) = _runner.ForwardAndLoss(count);
            lossSum += loss * count;
            correct += c;
        }
        return new StepResult(source.Count == 0 ? 0 : lossSum / source.Count, correct, source.Count);
    }
}
