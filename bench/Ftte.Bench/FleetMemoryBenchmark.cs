using System.Globalization;
using System.Text.Json;
using Ftte.Data;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Simulation;
using Ftte.Federation.Config;
using Ftte.Simulation.Config;
using Ftte.Simulation.Fleet;

namespace Ftte.Bench;

/// <summary>
/// `fleet-memory`: managed memory of a large fleet beyond its dataset. Loads MNIST, then adds, one at a time and
/// measuring the managed heap after a full collection (<see cref="GC.GetTotalMemory(bool)"/>) after each: the fleet
/// (tiers4 preset), its Dirichlet(0.5) partition, the simulator (LeNet, 2,000 evaluation samples), and one run's
/// per-device state and in-flight tasks — FedBuff with 20 devices training at once, for --seconds of virtual time,
/// measured at every evaluation point from inside the progress callback (the largest is reported).
/// Options: --devices N (default 10000), --seconds S (virtual, default 60), --workers N (default 1), --json.
/// </summary>
internal static class FleetMemoryBenchmark
{
    private const double MB = 1e6;

    public static int Run(string[] args)
    {
        bool json = BenchArgs.Flag(args, "--json");
        int devices = (int)BenchArgs.Double(args, "--devices", 10_000);
        double seconds = BenchArgs.Double(args, "--seconds", 60);
        int workers = (int)BenchArgs.Double(args, "--workers", 1);
        const ulong seed = 1;

        long baseline = Heap();
        var data = DatasetCatalog.Load("mnist");
        long afterData = Heap();

        var fleet = FleetPresets.Create("tiers4", devices, seed);
        long afterFleet = Heap();

        var partition = Partitioner.Split(data.Train, new PartitionOptions
        {
            Devices = devices, Scheme = PartitionScheme.Dirichlet, DirichletAlpha = 0.5, ValidationFraction = 0.1, Seed = seed,
        });
        long afterPartition = Heap();

        var model = ModelSource.Load("lenet", seed, new Shape([.. data.Train.SampleShape]), data.Train.ClassCount);
        var simulator = new Simulator(fleet.Devices, partition, data.Test, model, new SimulationOptions
        {
            MaxSeconds = seconds, EvalEverySeconds = Math.Max(1, seconds / 6), EvalSamples = 2000, Workers = workers, Seed = seed,
        });
        long afterSimulator = Heap();

        var strategy = new StrategyConfig { Kind = StrategyKind.Fedbuff, Concurrency = 20, BufferSize = 10 }
            .Create(new LocalConfig { Epochs = 1, Batch = 16, LearningRate = 0.05 }.ToLocalTraining(), ignoreMemory: false, seed);
        long peakInRun = 0;
        int points = 0;
        var result = simulator.Run(strategy, _ =>
        {
            peakInRun = Math.Max(peakInRun, Heap());
            points++;
        });
        long afterRun = Heap();
        GC.KeepAlive(simulator);
        GC.KeepAlive(fleet);
        GC.KeepAlive(partition);
        GC.KeepAlive(data);

        var rows = new (string Name, long Bytes, string Note)[]
        {
            ("dataset (mnist)", afterData - baseline, $"{data.Train.Count:N0} train + {data.Test.Count:N0} test samples, float32"),
            ("fleet", afterFleet - afterData, $"{fleet.Count:N0} device profiles (tiers4)"),
            ("partition", afterPartition - afterFleet, $"Dirichlet(0.5) over {devices:N0} devices; index arrays {partition.IndexBytes / MB:F2} MB"),
            ("model + simulator", afterSimulator - afterPartition, "LeNet, device infos, 2,000-sample evaluation view"),
            ("run state (peak)", Math.Max(0, peakInRun - afterSimulator), $"FedBuff M=20 K=10, {seconds:F0} s virtual, {result.Summary.Tasks} tasks, {workers} worker(s); max over {points} evaluation points"),
        };
        long beyond = peakInRun - afterData;
        if (json)
        {
            foreach (var (name, bytes, note) in rows)
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["benchmark"] = "fleet-memory", ["devices"] = devices, ["component"] = name, ["megabytes"] = Math.Round(bytes / MB, 3), ["note"] = note,
                }));
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["benchmark"] = "fleet-memory", ["devices"] = devices, ["component"] = "total beyond dataset",
                ["megabytes"] = Math.Round(beyond / MB, 3), ["goal_megabytes"] = 100, ["after_run_megabytes"] = Math.Round((afterRun - afterData) / MB, 3),
            }));
        }
        else
        {
            Console.WriteLine($"Managed heap after a full GC (GC.GetTotalMemory(true)), {devices:N0} devices:");
            foreach (var (name, bytes, note) in rows)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-20} {bytes / MB,9:F2} MB   {note}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {"beyond the dataset",-20} {beyond / MB,9:F2} MB   peak during the run (goal: under 100 MB); {(afterRun - afterData) / MB:F2} MB once the run has ended"));
        }
        return 0;
    }

    private static long Heap() => GC.GetTotalMemory(forceFullCollection: true);
}
