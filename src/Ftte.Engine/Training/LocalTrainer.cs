using Ftte.Core;

namespace Ftte.Engine.Training;

/// <summary>Result of local training: mean loss and accuracy over the samples seen, and the work done.</summary>
public readonly record struct TrainingResult(double MeanLoss, double Accuracy, int Samples, int Steps);

/// <summary>
/// The local training loop: epochs of seeded shuffled mini-batches from a sample source into a
/// <see cref="TrainingSession"/>. The same loop runs in the simulator, on a real device, and in `ftte train`.
/// </summary>
public static class LocalTrainer
{
    /// <summary>
    /// Trains <paramref name="epochs"/> passes over <paramref name="source"/>; the order is drawn from
    /// <paramref name="rng"/>; the learning rate follows <paramref name="schedule"/> (default constant) over all steps of this call.
    /// </summary>
    public static TrainingResult Train<TSource>(TrainingSession session, TSource source, int epochs, Rng rng,
        LearningRateSchedule? schedule = null, Action<int, TrainingResult>? onEpoch = null) where TSource : ISampleSource
    {
        if (epochs < 0) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Epochs cannot be negative.");
        CheckSize(session.Model, source);
        schedule ??= LearningRateSchedule.Constant;
        float baseRate = session.Optimizer.LearningRate;
        int totalSteps = epochs * ((source.Count + session.BatchSize - 1) / session.BatchSize);
        var order = new int[source.Count];
        double lossSum = 0;
        long correct = 0, seen = 0;
        int steps = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            double epochLoss = 0;
            long epochCorrect = 0, epochSeen = 0;
            int epochSteps = 0;
            for (int i = 0; i < order.Length; i++) order[i] = i;
            rng.Shuffle(order.AsSpan());
            for (int start = 0; start < order.Length; start += session.BatchSize)
            {
                int count = Math.Min(session.BatchSize, order.Length - start);
                Fill(source, order.AsSpan(start, count), session.Input, session.Labels);
                session.LearningRate = baseRate * schedule.Factor(steps + epochSteps, totalSteps);
                var r = session.Step(count);
                epochLoss += r.Loss * count;
                epochCorrect += r.Correct;
                epochSeen += count;
                epochSteps++;
            }
            onEpoch?.Invoke(epoch, Result(epochLoss, epochCorrect, epochSeen, epochSteps));
            lossSum += epochLoss;
            correct += epochCorrect;
            seen += epochSeen;
            steps += epochSteps;
        }
        session.LearningRate = baseRate;
        return Result(lossSum, correct, seen, steps);
    }

    private static TrainingResult Result(double lossSum, long correct, long seen, int steps) =>
        new(seen == 0 ? 0 : lossSum / seen, seen == 0 ? 0 : (double)correct / seen, (int)seen, steps);

    /// <summary>Copies the samples at <paramref name="indices"/> into batch buffers.</summary>
    public static void Fill<TSource>(TSource source, ReadOnlySpan<int> indices, Span<float> inputs, Span<int> labels) where TSource : ISampleSource
    {
        int size = source.SampleSize;
        for (int j = 0; j < indices.Length; j++)
        {
            source.Sample(indices[j]).CopyTo(inputs.Slice(j * size, size));
            labels[j] = source.Label(indices[j]);
        }
    }

    internal static void CheckSize<TSource>(Model model, TSource source) where TSource : ISampleSource
    {
        if (source.SampleSize != model.InputShape.Size)
            throw new ArgumentException($"Samples have {source.SampleSize} values but model '{model.Name}' takes {model.InputShape} = {model.InputShape.Size}; pick a model that matches the dataset.");
    }
}
