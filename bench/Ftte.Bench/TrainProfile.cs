using System.Diagnostics;
using System.Globalization;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Training;

namespace Ftte.Bench;

/// <summary>
/// `train --profile`: where a training step's time goes, layer by layer. Times each layer call of
/// <see cref="TrainingSession.StepTimed"/> (forward, loss, backward, optimizer) over many steps and prints the mean µs per step
/// and the share of each; the timestamps cost ~20 ns a call, nothing against these layers. Honours --trainable and
/// --stream-chunk as the throughput run does: the layers of a streamed frozen prefix are marked and timed over all their chunks.
/// </summary>
internal static class TrainProfile
{
    public static void Run(string name, int batch, double seconds, string trainable, int streamChunk)
    {
        var model = BuiltInModels.Create(name, seed: 1);
        var session = new TrainingSession(model, TrainableSet.Parse(model, trainable), batch, new SgdOptions { LearningRate = 0.01f, Momentum = 0.9f },
            streamChunk: streamChunk);
        var rng = new Rng(2);
        foreach (ref float v in session.Input) v = (float)rng.NextGaussian();
        foreach (ref int l in session.Labels) l = rng.NextInt(model.ClassCount);

        int layers = model.Layers.Count;
        // ticks[0..L): forward of layer i; [L..2L): backward of layer i; 2L: loss; 2L+1: optimizer.
        var ticks = new long[2 * layers + 2];
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < Math.Min(1.0, seconds / 2)) session.Step(batch);

        long steps = 0;
        double lastLoss = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            lastLoss = session.StepTimed(batch, ticks).Loss;
            steps++;
        }

        double total = ticks.Sum();
        double Us(long tick) => 1e6 * tick / Stopwatch.Frequency / steps;
        string Row(string label, long fwd, long bwd) => string.Create(CultureInfo.InvariantCulture,
            $"  {label,-26} {Us(fwd),10:F1} {Us(bwd),10:F1} {Us(fwd + bwd),10:F1} {100 * (fwd + bwd) / total,6:F1}%");
        int prefix = session.Plan.StreamedPrefix;
        string streamed = prefix > 0 ? $", frozen prefix streamed {session.Plan.StreamChunk} sample(s) at a time (*)" : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name} batch {batch}, trainable {trainable}{streamed}: {steps} steps, {Us((long)total):F1} µs/step, {steps * batch / clock.Elapsed.TotalSeconds:N0} samples/s, last loss {lastLoss:G4}"));
        Console.WriteLine($"  {"layer",-26} {"fwd µs",10} {"bwd µs",10} {"total µs",10} {"share",7}");
        for (int i = 0; i < layers; i++)
        {
            var layer = model.Layers[i];
            Console.WriteLine(Row($"{layer.Name} ({layer.Kind}){(i < prefix ? " *" : "")}", ticks[i], ticks[layers + i]));
        }
        Console.WriteLine(Row("loss", ticks[2 * layers], 0));
        Console.WriteLine(Row("optimizer", ticks[2 * layers + 1], 0));
    }
}
