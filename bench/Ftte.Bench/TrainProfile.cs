using System.Diagnostics;
using System.Globalization;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Training;

namespace Ftte.Bench;

/// <summary>
/// `train --profile`: where a training step's time goes, layer by layer. Replays <see cref="TrainingSession.Step(int)"/>
/// one layer call at a time with a timestamp around each (forward, loss, backward, optimizer) over many steps and prints
/// the mean µs per step and the share of each; the timestamps cost ~20 ns a call, nothing against these layers.
/// </summary>
internal static class TrainProfile
{
    public static void Run(string name, int batch, double seconds)
    {
        var model = BuiltInModels.Create(name, seed: 1);
        var session = new TrainingSession(model, TrainableSet.All(model), batch, new SgdOptions { LearningRate = 0.01f, Momentum = 0.9f });
        var rng = new Rng(2);
        foreach (ref float v in session.Input) v = (float)rng.NextGaussian();
        foreach (ref int l in session.Labels) l = rng.NextInt(model.ClassCount);

        var runner = session.Runner;
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
            long t = Stopwatch.GetTimestamp(), u;
            for (int i = 0; i < layers; i++)
            {
                runner.ForwardLayer(i, batch);
                u = Stopwatch.GetTimestamp(); ticks[i] += u - t; t = u;
            }
            var (lossValue, _) = runner.Loss(batch);
            lastLoss = lossValue;
            u = Stopwatch.GetTimestamp(); ticks[2 * layers] += u - t; t = u;
            for (int i = layers - 1; i >= 0; i--)
            {
                runner.BackwardLayer(i, batch);
                u = Stopwatch.GetTimestamp(); ticks[layers + i] += u - t; t = u;
            }
            session.FinishStep();
            u = Stopwatch.GetTimestamp(); ticks[2 * layers + 1] += u - t;
            steps++;
        }

        double total = ticks.Sum();
        double Us(long tick) => 1e6 * tick / Stopwatch.Frequency / steps;
        string Row(string label, long fwd, long bwd) => string.Create(CultureInfo.InvariantCulture,
            $"  {label,-22} {Us(fwd),10:F1} {Us(bwd),10:F1} {Us(fwd + bwd),10:F1} {100 * (fwd + bwd) / total,6:F1}%");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name} batch {batch}: {steps} steps, {Us((long)total):F1} µs/step, {steps * batch / clock.Elapsed.TotalSeconds:N0} samples/s, last loss {lastLoss:G4}"));
        Console.WriteLine($"  {"layer",-22} {"fwd µs",10} {"bwd µs",10} {"total µs",10} {"share",7}");
        for (int i = 0; i < layers; i++)
        {
            var layer = model.Layers[i];
            Console.WriteLine(Row($"{layer.Name} ({layer.Kind})", ticks[i], ticks[layers + i]));
        }
        Console.WriteLine(Row("loss", ticks[2 * layers], 0));
        Console.WriteLine(Row("optimizer", ticks[2 * layers + 1], 0));
    }
}
