using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Ftte.Core;
using Ftte.Data;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Planning;
using Ftte.Engine.Training;

namespace Ftte.Cli.Commands;

/// <summary>`ftte plan-memory` and `ftte train`: the engine on its own, centralised.</summary>
internal static class EngineCommands
{
    private static readonly Option<string> ModelOption = new("--model") { Description = "Built-in model (mlp, lenet, mobilenetv2-tiny) or a JSON description file.", DefaultValueFactory = _ => "lenet" };
    private static readonly Option<int> BatchOption = new("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 32 };
    private static readonly Option<string> TrainableOption = new("--trainable") { Description = "Trainable set: all, none, bias, last:K, or NAME[=full|frozen|bias|1/4|c0;c3],… (default all).", DefaultValueFactory = _ => "all" };
    private static readonly Option<string> OptimizerOption = new("--optimizer") { Description = "sgd or adam.", DefaultValueFactory = _ => "sgd" };
    private static readonly Option<float> MomentumOption = new("--momentum") { Description = "SGD momentum (0 keeps no optimizer state).", DefaultValueFactory = _ => 0.5f };
    private static readonly Option<float?> LearningRateOption = new("--lr") { Description = "Learning rate (default 0.05 for SGD, 0.001 for Adam)." };
    private static readonly Option<string?> BudgetOption = new("--budget") { Description = "Memory budget, e.g. 256KiB: refuse a plan whose peak exceeds it." };
    private static readonly Option<ulong> SeedOption = new("--seed") { Description = "Seed for initialisation and shuffling.", DefaultValueFactory = _ => 1UL };

    public static IEnumerable<Command> Create()
    {
        yield return PlanMemory();
        yield return Train();
    }

    private static OptimizerOptions Optimizer(ParseResult r)
    {
        string name = r.GetValue(OptimizerOption)!;
        float? lr = r.GetValue(LearningRateOption);
        return name switch
        {
            "sgd" => new SgdOptions { LearningRate = lr ?? 0.05f, Momentum = r.GetValue(MomentumOption) },
            "adam" => new AdamOptions { LearningRate = lr ?? 0.001f },
            _ => throw new ArgumentException($"--optimizer '{name}' is not known; use sgd or adam."),
        };
    }

    private static Command PlanMemory()
    {
        var json = new Option<bool>("--json") { Description = "Print the plan as JSON." };
        var buffers = new Option<bool>("--buffers") { Description = "List every arena buffer with offset and lifetime." };
        var chunk = new Option<int>("--stream-chunk")
        {
            Description = "Samples at a time through the frozen leading layers (1: least memory; the batch: no streaming).",
            DefaultValueFactory = _ => MemoryPlanner.DefaultStreamChunk,
        };
        var command = new Command("plan-memory", "Print the exact training memory (and FLOPs) of a model, trainable set, batch and optimizer — before training.")
        {
            ModelOption, BatchOption, TrainableOption, OptimizerOption, MomentumOption, BudgetOption, json, buffers, chunk,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var model = ModelSource.Load(r.GetValue(ModelOption)!, 0);
            var trainable = TrainableSet.Parse(model, r.GetValue(TrainableOption)!);
            int streamChunk = r.GetValue(chunk);
            if (streamChunk < 1) throw new ArgumentException($"--stream-chunk {streamChunk}: give at least 1 sample (1 streams the frozen prefix one sample at a time; the batch size streams nothing).");
            var plan = MemoryPlanner.PlanTraining(model, trainable, r.GetValue(BatchOption), Optimizer(r), streamChunk);
            if (r.GetValue(json)) Console.WriteLine(plan.ToJson(r.GetValue(buffers)));
            else
            {
                Console.Write(plan.ToText());
                if (r.GetValue(buffers))
                    foreach (var b in plan.Buffers.OrderBy(b => b.Offset))
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {b.Offset * 4,10:N0}  {b.Bytes,10:N0} B  steps {b.FirstStep,3}..{b.LastStep,-3}  {b.Kind,-18} {b.Name}"));
            }
            if (r.GetValue(BudgetOption) is { } budgetText)
            {
                long budget = ByteSize.Parse(budgetText);
                plan.EnsureFits(budget);
                if (!r.GetValue(json)) Console.WriteLine($"  fits the budget of {ByteSize.Format(budget)} ({budget - plan.PeakBytes:N0} B to spare)");
            }
        }));
        return command;
    }

    private static Command Train()
    {
        var dataset = new Option<string>("--dataset") { Description = "Dataset: mnist, fashion-mnist, digits, iris, wine, breast-cancer.", DefaultValueFactory = _ => "mnist" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training set.", DefaultValueFactory = _ => 1 };
        var save = new Option<string?>("--save") { Description = "Write the trained parameters to this file." };
        var init = new Option<string?>("--init") { Description = "Start from the parameters in this file (written by --save) instead of a random initialisation." };
        var schedule = new Option<string>("--schedule") { Description = "Learning-rate schedule over the run: constant, cosine or linear.", DefaultValueFactory = _ => "cosine" };
        var command = new Command("train", "Train a model centrally on a real dataset with the Tiny Training Engine and report test accuracy.")
        {
            ModelOption, dataset, epochs, BatchOption, TrainableOption, OptimizerOption, MomentumOption, LearningRateOption, schedule, BudgetOption, SeedOption, save, init,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            ulong seed = r.GetValue(SeedOption);
            var data = DatasetCatalog.Load(r.GetValue(dataset)!, new DataOptions { Progress = new Progress<string>(Console.Error.WriteLine) });
            var model = ModelSource.Load(r.GetValue(ModelOption)!, seed, new Shape([.. data.Train.SampleShape]), data.Train.ClassCount);
            if (r.GetValue(init) is { } initPath) ModelSource.LoadParameters(model, initPath);
            var trainable = TrainableSet.Parse(model, r.GetValue(TrainableOption)!);
            long? budget = r.GetValue(BudgetOption) is { } b ? ByteSize.Parse(b) : null;
            var session = new TrainingSession(model, trainable, r.GetValue(BatchOption), Optimizer(r), budget);
            Console.WriteLine($"{model}");
            Console.WriteLine($"{data.Train}; test {data.Test.Count} samples");
            Console.Write(session.Plan.ToText());

            var train = new ArraySamples(data.Train.Features, data.Train.Labels, data.Train.SampleSize);
            var test = new ArraySamples(data.Test.Features, data.Test.Labels, data.Test.SampleSize);
            var evaluator = new Evaluator(model);
            var clock = Stopwatch.StartNew();
            LocalTrainer.Train(session, train, r.GetValue(epochs), new Rng(seed), LearningRateSchedule.Parse(r.GetValue(schedule)!), (epoch, result) =>
            {
                double seconds = clock.Elapsed.TotalSeconds;
                var eval = evaluator.Evaluate(test);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch + 1}: train loss {result.MeanLoss:F4} acc {result.Accuracy:P2} | test loss {eval.Loss:F4} acc {eval.Accuracy:P2} | {result.Samples / seconds:N0} samples/s ({seconds:F1} s)"));
                clock.Restart();
            });
            if (r.GetValue(save) is { } path)
            {
                // A diverged run is not saved: its NaN weights would poison every run started from the file.
                if (ModelSource.FirstNonFinite(model) is { } bad)
                    throw new InvalidOperationException($"Not saved to {path}: tensor '{bad.Tensor}' holds {bad.Value} (training diverged); train again with a lower --lr.");
                string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
                if (directory is not null && !Directory.Exists(directory))
                    throw new InvalidOperationException($"Not saved to {path}: the directory {directory} does not exist; create it first.");
                // Written beside it, then renamed over it: `--init w --save w` never leaves a half-written file.
                string temp = path + ".tmp";
                File.WriteAllBytes(temp, ParameterSerializer.Serialize(model));
                File.Move(temp, path, overwrite: true);
                Console.WriteLine($"saved {model.ParameterCount:N0} parameters to {path}");
            }
        }));
        return command;
    }
}
