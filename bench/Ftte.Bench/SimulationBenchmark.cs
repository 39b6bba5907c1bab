using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ftte.Core.Config;
using Ftte.Reporting;
using Ftte.Simulation;
using Ftte.Simulation.Config;

namespace Ftte.Bench;

/// <summary>
/// `simulate`: host wall time of a simulated comparison (default: the stragglers-500 preset, every strategy) and
/// the simulator's overhead, measured two ways:
/// <list type="bullet">
/// <item>loop: <see cref="RunSummary.OverheadShare"/>, the share of the event-loop thread's wall time not spent
/// waiting for a trained result or evaluating (what the simulator itself costs on top of the engine);</item>
/// <item>engine, with --workers 1: (wall − Σ training − evaluation) / wall from the run's last progress point, the
/// share of wall time in which the engine was neither training nor evaluating; and (wall − Σ training) / wall, the
/// share in which the one worker was not training. Evaluation runs on the loop thread while the worker may train
/// ahead on another core, so the first can come out slightly negative: it is shown unclamped. With N workers Σ
/// training adds N threads' time, so the workers' mean busy share, Σ training / (N · wall), is shown instead.</item>
/// </list>
/// Options: --preset NAME (quick, stragglers-500), --max-time D (run.maxTime: seconds or 20min, 4h),
/// --workers N (run.workers; 0 = one per core), --strategies a,b (labels to run; default all), --json.
/// </summary>
internal static class SimulationBenchmark
{
    public static int Run(string[] args)
    {
        bool json = BenchArgs.Flag(args, "--json");
        string preset = BenchArgs.Value(args, "--preset") ?? "stragglers-500";
        var overrides = new List<string>();
        if (BenchArgs.Value(args, "--max-time") is { } maxTime) overrides.Add($"run.maxTime={JsonValue.Create(maxTime).ToJsonString()}");
        if (BenchArgs.Value(args, "--workers") is { } w) overrides.Add($"run.workers={w}");
        SimulationConfig config;
        try
        {
            config = StrictJson.Parse<SimulationConfig>(StrictJson.Serialize(SimulationPresets.Get(preset)), $"preset {preset}", overrides);
        }
        catch (Exception e) when (e is ConfigException or ArgumentException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        var wanted = BenchArgs.Value(args, "--strategies") is null ? null : BenchArgs.List(args, "--strategies", "");
        var strategies = config.Strategies.Where(s => wanted is null || wanted.Contains(s.Label)).ToList();
        if (strategies.Count == 0)
        {
            Console.Error.WriteLine($"No strategy matches; the preset has {string.Join(", ", config.Strategies.Select(s => s.Label))}.");
            return 2;
        }

        var total = Stopwatch.StartNew();
        var experiment = Experiment.Build(config);
        double setupSeconds = total.Elapsed.TotalSeconds;
        int workers = experiment.Simulator.Options.Workers;
        if (!json)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"preset {preset}: {experiment.Fleet.Count} devices, {config.Data.Dataset}, {experiment.Model.Name}, {HumanFormat.Duration(config.Run.MaxTime)} virtual, {workers} worker(s) on {Environment.ProcessorCount} cores; setup (load, partition, simulator) {setupSeconds:F1} s"));
            Console.WriteLine($"{"strategy",-28} {"virtual",12} {"tasks",7} {"wall s",8} {"tasks/s",8} {"samples/s",10} {"train s",8} {"eval s",7} {"overhead loop",13} "
                + (workers == 1 ? $"{"1−(train+eval)/wall",19} {"1−train/wall",12}" : $"{"workers busy",12}"));
        }

        foreach (var strategy in strategies)
        {
            SimulationProgress last = default;
            var heartbeat = Stopwatch.StartNew();
            var result = experiment.RunOne(strategy, p =>
            {
                last = p;
                if (!json && heartbeat.Elapsed.TotalSeconds >= 30)
                {
                    heartbeat.Restart();
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  … {p.Strategy}: {HumanFormat.Duration(p.Time)} of {HumanFormat.Duration(p.MaxTime)} virtual, v{p.Version}, accuracy {p.Accuracy:P1}, {p.WallSeconds:F0} s wall"));
                }
            });
            var s = result.Summary;
            double wall = s.WallSeconds;
            // From the last progress point (the final evaluation): the wall time then, and what training and evaluation took of it.
            double lastWall = Math.Max(last.WallSeconds, 1e-9);
            double engineOverhead = (lastWall - last.TrainingSeconds - last.EvaluationSeconds) / lastWall;
            double notTraining = (lastWall - last.TrainingSeconds) / lastWall;
            double workersBusy = last.TrainingSeconds / (workers * lastWall);
            double tasksPerSecond = s.Tasks / wall, samplesPerSecond = last.TrainingSamples / wall;
            if (json)
            {
                var line = new Dictionary<string, object>
                {
                    ["benchmark"] = "simulate", ["preset"] = preset, ["strategy"] = s.Strategy, ["devices"] = s.Devices, ["workers"] = workers,
                    ["cores"] = Environment.ProcessorCount, ["virtual_seconds"] = s.EndTime, ["tasks"] = s.Tasks,
                    ["wall_seconds"] = Math.Round(wall, 2), ["tasks_per_wall_second"] = Math.Round(tasksPerSecond, 1),
                    ["training_samples"] = last.TrainingSamples, ["training_samples_per_wall_second"] = Math.Round(samplesPerSecond, 0),
                    ["training_seconds"] = Math.Round(last.TrainingSeconds, 2), ["evaluation_seconds"] = Math.Round(last.EvaluationSeconds, 2),
                    ["overhead_share_loop"] = Math.Round(s.OverheadShare, 4),
                    ["workers_busy_share"] = Math.Round(workersBusy, 4),
                    ["final_accuracy"] = Math.Round(s.FinalAccuracy, 4), ["final_version"] = s.FinalVersion,
                };
                if (workers == 1)
                {
                    line["overhead_share_engine"] = Math.Round(engineOverhead, 4);
                    line["not_training_share"] = Math.Round(notTraining, 4);
                }
                Console.WriteLine(JsonSerializer.Serialize(line));
            }
            else
            {
                var inv = CultureInfo.InvariantCulture;
                Console.WriteLine(string.Create(inv,
                    $"{s.Strategy,-28} {HumanFormat.Duration(s.EndTime),12} {s.Tasks,7} {wall,8:F1} {tasksPerSecond,8:F1} {samplesPerSecond,10:N0} {last.TrainingSeconds,8:F1} {last.EvaluationSeconds,7:F1} {s.OverheadShare,13:P1} ")
                    + (workers == 1 ? string.Create(inv, $"{engineOverhead,19:P1} {notTraining,12:P1}") : string.Create(inv, $"{workersBusy,12:P1}")));
            }
        }

        double totalSeconds = total.Elapsed.TotalSeconds;
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["benchmark"] = "simulate", ["preset"] = preset, ["strategy"] = "(comparison)", ["devices"] = experiment.Fleet.Count,
                ["workers"] = workers, ["virtual_seconds"] = config.Run.MaxTime, ["setup_seconds"] = Math.Round(setupSeconds, 2),
                ["wall_seconds"] = Math.Round(totalSeconds, 2),
            }));
        else
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"comparison of {strategies.Count} strateg{(strategies.Count == 1 ? "y" : "ies")}: {totalSeconds:F1} s wall ({totalSeconds / 60:F1} min), setup included. Goal: overhead under 10 %."));
        return 0;
    }
}
