using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Planning;
using Ftte.Engine.Training;

namespace Ftte.Bench;

/// <summary>
/// `train`: training samples per second of the engine, one thread, for the MLP and LeNet at batch 32
/// and 256 (SGD, momentum 0.9, lr 0.01, cross-entropy — the same setup as bench/pytorch/reference.py).
/// Data are seeded random inputs: throughput does not depend on their values.
/// Options: --json (one object per line), --seconds S (timed window per case, default 3),
/// --models mlp,lenet, --batches 32,256, --trainable SET (default all), --stream-chunk N (samples per chunk of a frozen
/// prefix; the batch streams nothing), --profile (time per layer instead, see <see cref="TrainProfile"/>).
/// </summary>
internal static class TrainBenchmark
{
    public static int Run(string[] args)
    {
        bool json = args.Contains("--json");
        double seconds = double.Parse(Value(args, "--seconds") ?? "3", CultureInfo.InvariantCulture);
        string[] models = (Value(args, "--models") ?? "mlp,lenet").Split(',');
        int[] batches = (Value(args, "--batches") ?? "32,256").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
        string trainable = Value(args, "--trainable") ?? "all";
        int streamChunk = int.Parse(Value(args, "--stream-chunk") ?? MemoryPlanner.DefaultStreamChunk.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (args.Contains("--profile"))
        {
            foreach (string name in models)
                foreach (int batch in batches) TrainProfile.Run(name, batch, seconds, trainable, streamChunk);
            return 0;
        }
        if (!json) Console.WriteLine($"{"model",-18} {"batch",5} {"threads",7} {"samples/s",12} {"step µs",9} {"train GFLOP/s",13}");
        foreach (string name in models)
            foreach (int batch in batches)
            {
                var (samplesPerSecond, flopsPerSample) = Measure(name, batch, seconds, trainable, streamChunk);
                if (json)
                    Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["model"] = name, ["batch"] = batch, ["threads"] = 1, ["samples_per_second"] = Math.Round(samplesPerSecond, 1),
                        ["engine"] = "ftte", ["trainable"] = trainable,
                    }));
                else
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{name,-18} {batch,5} {1,7} {samplesPerSecond,12:N0} {1e6 * batch / samplesPerSecond,9:F1} {samplesPerSecond * flopsPerSample / 1e9,13:F2}"));
            }
        return 0;
    }

    private static (double SamplesPerSecond, long FlopsPerSample) Measure(string name, int batch, double seconds, string trainable, int streamChunk)
    {
        var model = BuiltInModels.Create(name, seed: 1);
        var session = new TrainingSession(model, TrainableSet.Parse(model, trainable), batch, new SgdOptions { LearningRate = 0.01f, Momentum = 0.9f },
            streamChunk: streamChunk);
        var rng = new Rng(2);
        foreach (ref float v in session.Input) v = (float)rng.NextGaussian();
        foreach (ref int l in session.Labels) l = rng.NextInt(model.ClassCount);

        // Warm-up: tiered JIT reaches its optimised code after a few hundred calls.
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < Math.Min(1.0, seconds / 2)) session.Step(batch);

        long steps = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            session.Step(batch);
            steps++;
        }
        return (steps * batch / clock.Elapsed.TotalSeconds, session.Plan.TrainingFlopsPerSample);
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
