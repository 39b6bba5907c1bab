using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Protocol;
using Google.Protobuf;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Bench;

/// <summary>
/// Load on a real `ftte serve` process over loopback sockets: N simulated devices (default 1,000) enrol, then each
/// loops long-poll → fetch its task's model part → submit an update (small random Δ of the task's exact layout),
/// for a fixed time. No training on the devices: this measures the server — ingest rate, latency, errors, and its
/// resident memory (VmRSS of the server process) at start and end.
/// </summary>
internal static partial class ServerLoadBenchmark
{
    public static int Run(string[] args)
    {
        int devices = (int)BenchArgs.Double(args, "--devices", 1000);
        double seconds = BenchArgs.Double(args, "--seconds", 60);
        int connections = (int)BenchArgs.Double(args, "--connections", 50);
        bool json = BenchArgs.Flag(args, "--json");
        return RunAsync(devices, seconds, connections, json).GetAwaiter().GetResult();
    }

    private sealed class Stats
    {
        public readonly List<double> Submit = [], Model = [], Poll = [];
        public long Accepted, Dropped, Errors, Tasks, BytesUp, BytesDown;
        public readonly Dictionary<string, int> ErrorKinds = [];
        public void Error(string kind) { lock (this) { Errors++; ErrorKinds[kind] = ErrorKinds.GetValueOrDefault(kind) + 1; } }
    }

    private static async Task<int> RunAsync(int devices, double seconds, int connections, bool json)
    {
        string dir = Directory.CreateTempSubdirectory("ftte-load-").FullName;
        string ftte = FindFtte();
        const string secret = "load-secret";
        // FedBuff over the whole fleet: every device is always either polling or working; K = 50 per server step.
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { ftte, "serve", "--port", "0", "--secret", secret, "--state", "load.db",
                     "--set", "strategy.kind=fedbuff", "--set", $"strategy.concurrency={devices}", "--set", "strategy.bufferSize=50",
                     "--set", $"server.minDevices={devices}", "--set", "server.stopAtTarget=false", "--set", "server.evalEvery=10",
                     "--set", "server.longPoll=10", "--set", "server.onlineWindow=30" })
            info.ArgumentList.Add(a);
        using var server = Process.Start(info)!;
        var address = new TaskCompletionSource<string>();
        server.OutputDataReceived += (_, e) => { if (e.Data is { } l && l.Contains("Serving run")) address.TrySetResult(Address().Match(l).Value); };
        server.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            var uri = new Uri(await address.Task.WaitAsync(TimeSpan.FromSeconds(120)));
            var model = ModelSource.Load("lenet", 1, new Shape([1, 28, 28]), 10);
            var channels = Enumerable.Range(0, connections).Select(_ => new GrpcChannel(uri, new GrpcChannelOptions { MultipleConnections = false })).ToArray();
            var stats = new Stats();

            // Enrol everyone (training starts when the last one has).
            var tokens = new string[devices];
            await Parallel.ForEachAsync(Enumerable.Range(0, devices), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            {
                var reply = await channels[i % connections].CallAsync(FederationMethods.Enrol, new V1.EnrolRequest
                {
                    Secret = secret, DeviceName = $"load-{i}",
                    Capabilities = new V1.Capabilities { MemoryBytes = 8 << 20, FlopsPerSecond = 1e9, DownlinkBitsPerSecond = 1e8, UplinkBitsPerSecond = 1e8, TrainSamples = 600 },
                }, V1.EnrolReply.Parser, null, TimeSpan.FromSeconds(60), ct);
                tokens[i] = reply.Token;
            });
            long rssStart = Rss(server.Id);

            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            var watch = Stopwatch.StartNew();
            var loops = Enumerable.Range(0, devices).Select(i => Device(channels[i % connections], tokens[i], model.Clone(), new Rng((ulong)i + 1), stats, stop.Token)).ToArray();
            await Task.WhenAll(loops);
            double elapsed = watch.Elapsed.TotalSeconds;
            long rssEnd = Rss(server.Id);
            var status = await channels[0].CallAsync(FederationMethods.GetStatus, new V1.StatusRequest(), V1.StatusReply.Parser, null, TimeSpan.FromSeconds(10));
            foreach (var c in channels) c.Dispose();

            string Pct(List<double> xs, double p) { xs.Sort(); return xs.Count == 0 ? "-" : (xs[(int)Math.Min(xs.Count - 1, p * xs.Count)] * 1000).ToString("0.0", CultureInfo.InvariantCulture); }
            var inv = CultureInfo.InvariantCulture;
            if (json)
            {
                Console.WriteLine(string.Create(inv, $"{{\"devices\":{devices},\"seconds\":{elapsed:0.0},\"accepted\":{stats.Accepted},\"updatesPerSecond\":{stats.Accepted / elapsed:0.0},\"submitP50Ms\":{Pct(stats.Submit, 0.5)},\"submitP99Ms\":{Pct(stats.Submit, 0.99)},\"modelP50Ms\":{Pct(stats.Model, 0.5)},\"modelP99Ms\":{Pct(stats.Model, 0.99)},\"errors\":{stats.Errors},\"serverRssStartBytes\":{rssStart},\"serverRssEndBytes\":{rssEnd},\"serverVersion\":{status.Version}}}"));
            }
            else
            {
                Console.WriteLine(string.Create(inv, $"server load: {devices:N0} devices over {connections} HTTP/2 connections, {elapsed:0.0} s, real `ftte serve` process (FedBuff K=50, LeNet, SQLite WAL)"));
                Console.WriteLine(string.Create(inv, $"  updates ingested     {stats.Accepted:N0} accepted, {stats.Dropped:N0} dropped by the strategy → {stats.Accepted / elapsed:0.0} updates/s; server version {status.Version}"));
                Console.WriteLine(string.Create(inv, $"  tasks                {stats.Tasks:N0} received; {ByteSize.Format(stats.BytesDown)} down, {ByteSize.Format(stats.BytesUp)} up"));
                Console.WriteLine($"  submit latency       p50 {Pct(stats.Submit, 0.5)} ms, p99 {Pct(stats.Submit, 0.99)} ms");
                Console.WriteLine($"  model fetch latency  p50 {Pct(stats.Model, 0.5)} ms, p99 {Pct(stats.Model, 0.99)} ms");
                Console.WriteLine($"  long poll → task     p50 {Pct(stats.Poll, 0.5)} ms, p99 {Pct(stats.Poll, 0.99)} ms");
                Console.WriteLine($"  errors               {stats.Errors}" + (stats.ErrorKinds.Count > 0 ? " (" + string.Join(", ", stats.ErrorKinds.Select(kv => $"{kv.Key} {kv.Value}")) + ")" : ""));
                Console.WriteLine($"  server memory (RSS)  {ByteSize.Format(rssStart)} after enrolment → {ByteSize.Format(rssEnd)} at the end");
            }
            return stats.Errors == 0 ? 0 : 1;
        }
        finally
        {
            if (!server.HasExited) server.Kill(entireProcessTree: true);
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task Device(GrpcChannel channel, string token, Model scratch, Rng rng, Stats stats, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                long t0 = Stopwatch.GetTimestamp();
                var reply = await channel.CallAsync(FederationMethods.GetTask, new V1.GetTaskRequest { WaitSeconds = 5 }, V1.GetTaskReply.Parser, token, TimeSpan.FromSeconds(20), stop);
                if (reply.Task is not { } task) continue;
                double poll = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                var set = TrainableSet.Parse(scratch, task.Trainable);
                long t1 = Stopwatch.GetTimestamp();
                var part = await channel.CallAsync(FederationMethods.GetModel, new V1.GetModelRequest { Version = task.BaseVersion, Part = V1.ModelPart.Trainable, Trainable = task.Trainable },
                    V1.ModelChunk.Parser, token, TimeSpan.FromSeconds(30), stop);
                double model = Stopwatch.GetElapsedTime(t1).TotalSeconds;
                // A small random Δ in the task's exact layout.
                var w = scratch.Weights;
                for (int j = 0; j < w.Length; j++) w[j] = (float)((rng.NextDouble() - 0.5) * 1e-3);
                var payload = ParameterSerializer.Serialize(scratch, set);
                long t2 = Stopwatch.GetTimestamp();
                var result = await channel.CallAsync(FederationMethods.SubmitUpdate, new V1.UpdateChunk
                {
                    TaskId = task.TaskId, Offset = 0, TotalBytes = payload.Length, Data = ByteString.CopyFrom(payload),
                    Sha256 = Convert.ToHexStringLower(SHA256.HashData(payload)), Samples = 600, TrainLoss = 1.0,
                }, V1.SubmitReply.Parser, token, TimeSpan.FromSeconds(30), stop);
                double submit = Stopwatch.GetElapsedTime(t2).TotalSeconds;
                lock (stats)
                {
                    stats.Tasks++;
                    stats.Poll.Add(poll);
                    stats.Model.Add(model);
                    stats.Submit.Add(submit);
                    stats.BytesDown += part.Data.Length;
                    stats.BytesUp += payload.Length;
                    if (result.Verdict == V1.Verdict.Accepted) stats.Accepted++; else stats.Dropped++;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
            catch (RpcException e) when (stop.IsCancellationRequested && e.Status is StatusCode.Cancelled or StatusCode.DeadlineExceeded or StatusCode.Unavailable) { }
            catch (RpcException e) { stats.Error(e.Status.ToString()); }
        }
    }

    /// <summary>Resident memory of a process (Linux /proc), bytes.</summary>
    private static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        return -1;
    }

    private static string FindFtte()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        string configuration = dir.Parent?.Name ?? "Release";
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ftte.sln"))) dir = dir.Parent;
        string path = Path.Combine(dir?.FullName ?? ".", "src", "Ftte.Cli", "bin", configuration, "net10.0", "ftte.dll");
        if (!File.Exists(path)) throw new InvalidOperationException($"'{path}' is missing: build the solution first (dotnet build -c {configuration}).");
        return path;
    }

    [GeneratedRegex(@"https?://[0-9.]+:[0-9]+")]
    private static partial Regex Address();
}
