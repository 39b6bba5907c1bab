namespace Ftte.Bench;

/// <summary>
/// The subcommands of ftte-bench: name → (one-line summary, handler taking the remaining arguments, returning the exit code).
/// Add a benchmark by adding one entry.
/// </summary>
internal static class BenchCommands
{
    private static readonly Dictionary<string, (string Summary, Func<string[], int> Run)> All = new(StringComparer.Ordinal)
    {
        ["gemm"] = ("GEMM GFLOP/s per SIMD path for 256³ and the engine's MLP/LeNet shapes, against the fp32 peak", GemmBenchmark.Run),
        ["train"] = ("training samples/s, one thread, MLP and LeNet at batch 32 and 256 (compare with bench/pytorch/reference.py)", TrainBenchmark.Run),
        ["simulate"] = ("wall time, tasks/s, samples/s and simulator overhead of a preset's comparison (default stragglers-500)", SimulationBenchmark.Run),
        ["server-load"] = ("a real `ftte serve` under N simulated devices (default 1,000) long-polling and submitting for 60 s: updates/s, p50/p99, errors, server RSS", ServerLoadBenchmark.Run),
        ["fleet-memory"] = ("managed memory of a 10,000-device fleet beyond its dataset: fleet, partition, simulator, run state", FleetMemoryBenchmark.Run),
        ["privacy-overhead"] = ("per update of 100,000 parameters: DP clip and noise (device, server), each codec's encode/decode, bytes and error, SecAgg masking", PrivacyOverheadBenchmark.Run),
        ["secagg"] = ("SecAgg+ round, 100 devices × 100,000 parameters, 10% dropouts: device and server time, bytes, against plain aggregation", SecAggBenchmark.Run),
    };

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Usage(Console.Out);
            return 0;
        }
        if (!All.TryGetValue(args[0], out var command))
        {
            Console.Error.WriteLine($"Unknown benchmark '{args[0]}'.");
            Usage(Console.Error);
            return 2;
        }
        return command.Run(args[1..]);
    }

    private static void Usage(TextWriter writer)
    {
        writer.WriteLine("usage: ftte-bench <benchmark> [options]   (--json: one JSON object per line)");
        foreach (var (name, (summary, _)) in All.OrderBy(e => e.Key, StringComparer.Ordinal))
            writer.WriteLine($"  {name,-12} {summary}");
    }
}
