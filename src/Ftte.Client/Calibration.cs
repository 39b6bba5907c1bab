using System.Diagnostics;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Planning;
using Ftte.Engine.Training;

namespace Ftte.Client;

/// <summary>Measures this machine's training throughput, for a device that does not declare its compute.</summary>
public static class Calibration
{
    /// <summary>Planned training FLOPs per second of the engine on a small MLP (random data, ~0.2 s).</summary>
    public static double MeasureTrainingFlops()
    {
        var model = ModelSource.Load("mlp", 1, new Shape([784]), 10);
        const int batch = 32;
        var trainable = TrainableSet.All(model);
        var optimizer = new SgdOptions { LearningRate = 0.01f };
        var plan = MemoryPlanner.PlanTraining(model, trainable, batch, optimizer);
        var session = new TrainingSession(model, trainable, batch, optimizer);
        var data = new RandomSamples(512, 784, 10, 7);
        LocalTrainer.Train(session, data, 1, new Rng(1)); // warm-up (JIT)
        var watch = Stopwatch.StartNew();
        long samples = 0;
        while (watch.Elapsed < TimeSpan.FromMilliseconds(200))
        {
            LocalTrainer.Train(session, data, 1, new Rng(2));
            samples += data.Count;
        }
        return plan.TrainingFlopsPerSample * (double)samples / watch.Elapsed.TotalSeconds;
    }

    private sealed class RandomSamples : ISampleSource
    {
        private readonly float[] _x;
        private readonly int[] _y;

        public RandomSamples(int count, int size, int classes, ulong seed)
        {
            var rng = new Rng(seed);
            _x = new float[count * size];
            for (int i = 0; i < _x.Length; i++) _x[i] = (float)rng.NextDouble();
            _y = new int[count];
            for (int i = 0; i < count; i++) _y[i] = rng.NextInt(classes);
            SampleSize = size;
        }

        public int Count => _y.Length;
        public int SampleSize { get; }
        public ReadOnlySpan<float> Sample(int index) => _x.AsSpan(index * SampleSize, SampleSize);
        public int Label(int index) => _y[index];
    }
}
