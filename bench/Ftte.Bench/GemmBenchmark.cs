using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ftte.Core;
using Ftte.Engine.Kernels;

namespace Ftte.Bench;

/// <summary>
/// `gemm`: GFLOP/s of <see cref="Gemm.Multiply(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool, Span{float})"/>
/// on each SIMD path, single-threaded, for 256³ and the GEMMs the engine runs for the MLP 784-128-64-10 and LeNet.
/// Each case is warmed up, then timed in 5 windows of --seconds/5; the best window is reported (the least disturbed by
/// the machine's other work). FLOPs are 2·m·n·k per call.
/// Options: --json, --seconds S (per case and path, default 1), --paths Scalar,Vector256,Vector512, --cases a,b (names below),
/// --fma-units U, --lanes L, --ghz G (override the peak estimate).
/// </summary>
internal static class GemmBenchmark
{
    private readonly record struct Case(string Name, bool TransA, bool TransB, int M, int N, int K);

    private static readonly Case[] Cases =
    [
        new("square256", false, false, 256, 256, 256),
        // MLP 784-128-64-10: forward Y = X·Wᵀ (W stored out×in), dW = dYᵀ·X, dX = dY·W.
        new("mlp.fc1.forward.b32", false, true, 32, 128, 784),
        new("mlp.fc1.forward.b256", false, true, 256, 128, 784),
        new("mlp.fc1.dW.b32", true, false, 128, 784, 32),
        new("mlp.fc1.dW.b256", true, false, 128, 784, 256),
        new("mlp.fc2.forward.b256", false, true, 256, 64, 128),
        new("mlp.fc2.dX.b256", false, false, 256, 128, 64),
        new("mlp.fc3.forward.b32", false, true, 32, 10, 64),
        new("mlp.fc3.forward.b256", false, true, 256, 10, 64),
        // LeNet, per sample: conv forward W·cols, dW = dY·colsᵀ, dcols = Wᵀ·dY; then fc1 784→64.
        new("lenet.conv1.forward", false, false, 8, 784, 9),
        new("lenet.conv2.forward", false, false, 16, 196, 72),
        new("lenet.conv1.dW", false, true, 8, 9, 784),
        new("lenet.conv2.dW", false, true, 16, 72, 196),
        new("lenet.conv2.dcols", true, false, 72, 196, 16),
        new("lenet.fc1.forward.b32", false, true, 32, 64, 784),
        new("lenet.fc1.dX.b32", false, false, 32, 784, 64),
    ];

    public static int Run(string[] args)
    {
        bool json = BenchArgs.Flag(args, "--json");
        double seconds = BenchArgs.Double(args, "--seconds", 1.0);
        var paths = BenchArgs.List(args, "--paths", "Vector512,Vector256,Scalar")
            .Select(p => Enum.Parse<GemmPath>(p, ignoreCase: true)).Where(Gemm.IsSupported).ToArray();
        var wanted = BenchArgs.List(args, "--cases", string.Join(',', Cases.Select(c => c.Name)));
        int? units = BenchArgs.Value(args, "--fma-units") is { } u ? int.Parse(u, CultureInfo.InvariantCulture) : null;
        int? lanes = BenchArgs.Value(args, "--lanes") is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : null;
        double? ghz = BenchArgs.Value(args, "--ghz") is { } g ? double.Parse(g, CultureInfo.InvariantCulture) : null;
        var peak = CpuPeak.Detect(units, lanes, ghz);

        if (!json)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"CPU {peak.Model}: {peak.Cores} cores × {peak.Ghz:F2} GHz × {peak.FmaUnits} FMA units × {peak.Lanes} lanes × 2 = {peak.MachineGflops:F1} GFLOP/s fp32 peak; one core {peak.CoreGflops:F1} ({peak.Basis}). Single-threaded runs below."));
            Console.WriteLine($"{"case",-22} {"op",-6} {"m",4} {"n",4} {"k",4} {"path",-9} {"µs/call",10} {"GFLOP/s",8} {"% core peak",11}");
        }

        foreach (var name in wanted)
        {
            var gemm = Cases.FirstOrDefault(c => c.Name == name);
            if (gemm.Name is null)
            {
                Console.Error.WriteLine($"Unknown case '{name}'; known: {string.Join(", ", Cases.Select(c => c.Name))}.");
                return 2;
            }
            foreach (var path in paths)
            {
                double perCall = Measure(gemm, path, seconds);
                double gflops = 2.0 * gemm.M * gemm.N * gemm.K / perCall / 1e9;
                string op = (gemm.TransA ? "T" : "N") + (gemm.TransB ? "T" : "N");
                if (json)
                {
                    Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["benchmark"] = "gemm", ["case"] = gemm.Name, ["path"] = path.ToString(), ["threads"] = 1,
                        ["m"] = gemm.M, ["n"] = gemm.N, ["k"] = gemm.K, ["trans_a"] = gemm.TransA, ["trans_b"] = gemm.TransB,
                        ["microseconds_per_call"] = Math.Round(perCall * 1e6, 3), ["gflops"] = Math.Round(gflops, 2),
                        ["core_peak_gflops"] = Math.Round(peak.CoreGflops, 1), ["machine_peak_gflops"] = Math.Round(peak.MachineGflops, 1),
                        ["fraction_of_core_peak"] = Math.Round(gflops / peak.CoreGflops, 3),
                    }));
                }
                else
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{gemm.Name,-22} {op,-6} {gemm.M,4} {gemm.N,4} {gemm.K,4} {path,-9} {perCall * 1e6,10:F2} {gflops,8:F2} {100 * gflops / peak.CoreGflops,10:F1}%"));
                }
            }
        }
        return 0;
    }

    /// <summary>Seconds per call: the best of 5 timed windows after a warm-up (tiered JIT, caches, clocks).</summary>
    private static double Measure(Case g, GemmPath path, double seconds)
    {
        var rng = new Rng(1);
        var a = Fill(rng, g.M * g.K);
        var b = Fill(rng, g.K * g.N);
        var c = new float[g.M * g.N];
        var workspace = new float[Gemm.WorkspaceFloats(g.TransA, g.TransB, g.M, g.N, g.K)];
        int lda = g.TransA ? g.M : g.K, ldb = g.TransB ? g.K : g.N;

        // Calls per window sized so the clock is read rarely; warm-up runs the same loop.
        var clock = Stopwatch.StartNew();
        long calls = 0;
        while (clock.Elapsed.TotalSeconds < Math.Max(0.2, seconds / 5))
        {
            Gemm.Multiply(path, g.TransA, g.TransB, g.M, g.N, g.K, a, lda, b, ldb, c, g.N, false, workspace);
            calls++;
        }
        long batch = Math.Max(1, (long)(calls / clock.Elapsed.TotalSeconds * seconds / 50));

        double best = double.MaxValue;
        for (int window = 0; window < 5; window++)
        {
            long done = 0;
            clock.Restart();
            while (clock.Elapsed.TotalSeconds < seconds / 5)
            {
                for (long i = 0; i < batch; i++)
                    Gemm.Multiply(path, g.TransA, g.TransB, g.M, g.N, g.K, a, lda, b, ldb, c, g.N, false, workspace);
                done += batch;
            }
            best = Math.Min(best, clock.Elapsed.TotalSeconds / done);
        }
        return best;
    }

    private static float[] Fill(Rng rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = rng.Uniform(-1f, 1f);
        return x;
    }
}
