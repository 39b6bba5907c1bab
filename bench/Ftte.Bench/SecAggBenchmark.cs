using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json;
using Ftte.Core;
using Ftte.Federation.Privacy.SecAgg;

namespace Ftte.Bench;

/// <summary>
/// `secagg`: one SecAgg+ round of N devices × P parameters in which a fraction of the devices drop out after sharing
/// their keys (the costly case: the server rebuilds their mask keys and removes their pairwise masks), against plain
/// aggregation (every device uploads its float32 update, the server sums them). Everything runs on one thread,
/// devices one after the other, each phase timed per device and on the server; bytes are the messages' WireBytes
/// (see Messages.cs). k and t come from SecAggParameters.Recommend for the dropout rate; updates are Gaussian
/// (σ = 0.01) clipped to ±1 and fixed-point encoded for N summands. The unmasked sum is checked against the plain one.
/// Options: --devices N (default 100), --params P (default 100000), --dropout F (default 0.1), --seed S (default 1), --json.
/// </summary>
internal static class SecAggBenchmark
{
    private const double KB = 1e3;

    public static int Run(string[] args)
    {
        bool json = BenchArgs.Flag(args, "--json");
        int devices = (int)BenchArgs.Double(args, "--devices", 100);
        int length = (int)BenchArgs.Double(args, "--params", 100_000);
        double dropout = BenchArgs.Double(args, "--dropout", 0.1);
        ulong seed = (ulong)BenchArgs.Double(args, "--seed", 1);

        RunRound(SecAggParameters.Complete(0, 4, 64, 3), dropped: [3], seed);   // JIT warm-up, not reported

        var parameters = SecAggParameters.Recommend(roundId: 1, devices, length, dropout, graphSeed: seed);
        var rng = new Rng(Rng.Mix(seed, 0xD20));
        var order = Enumerable.Range(0, devices).ToArray();
        rng.Shuffle<int>(order);
        var dropped = order.Take((int)Math.Floor(dropout * devices)).Order().ToArray();
        var r = RunRound(parameters, dropped, seed);

        // Plain aggregation of the same survivors' float updates: what the server does without SecAgg.
        var sum = new float[length];
        var update = new float[length];
        long plainTicks = 0;
        foreach (int u in r.Survivors)
        {
            Update(seed, u, update);
            long t0 = Stopwatch.GetTimestamp();
            TensorPrimitives.Add(sum, update, sum);
            plainTicks += Stopwatch.GetTimestamp() - t0;
        }
        double plainServerMs = Ms(plainTicks);
        long plainBytesPerDevice = 8 + 4 + 4 + 4L * length;   // round, device, count, float32 values
        double maxError = 0;
        for (int i = 0; i < length; i++) maxError = Math.Max(maxError, Math.Abs(r.Decoded[i] - sum[i]));

        var deviceTotals = r.DeviceMs.Where((_, i) => !dropped.Contains(i)).Select(p => p.Sum()).Order().ToArray();
        double mean = deviceTotals.Average(), p50 = deviceTotals[deviceTotals.Length / 2], max = deviceTotals[^1];
        double[] phaseMeans = [.. Enumerable.Range(0, 6).Select(p => r.DeviceMs.Where((_, i) => !dropped.Contains(i)).Average(d => d[p]))];
        double serverMs = r.ServerMs.Sum();
        long up = r.BytesUp.Where((_, i) => !dropped.Contains(i)).Sum(), down = r.BytesDown.Where((_, i) => !dropped.Contains(i)).Sum();
        int survivors = r.Survivors.Length;

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["benchmark"] = "secagg", ["devices"] = devices, ["params"] = length, ["dropped"] = dropped.Length,
                ["neighbours"] = parameters.Neighbours, ["threshold"] = parameters.Threshold,
                ["device_ms_mean"] = Math.Round(mean, 2), ["device_ms_p50"] = Math.Round(p50, 2), ["device_ms_max"] = Math.Round(max, 2),
                ["device_phase_ms_mean"] = phaseMeans.Select(x => Math.Round(x, 3)).ToArray(),
                ["server_ms"] = Math.Round(serverMs, 1), ["server_phase_ms"] = r.ServerMs.Select(x => Math.Round(x, 2)).ToArray(),
                ["bytes_up_per_device"] = up / survivors, ["bytes_down_per_device"] = down / survivors,
                ["bytes_total"] = r.BytesUp.Sum() + r.BytesDown.Sum(),
                ["plain_server_ms"] = Math.Round(plainServerMs, 2), ["plain_bytes_up_per_device"] = plainBytesPerDevice,
                ["plain_bytes_total"] = plainBytesPerDevice * survivors, ["max_abs_error"] = maxError,
            }));
            return 0;
        }
        string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        Console.WriteLine(F($"SecAgg+ round: {devices} devices × {length:N0} parameters, {dropped.Length} dropped after sharing keys ({string.Join(",", dropped)})"));
        Console.WriteLine(F($"  graph: k = {parameters.Neighbours} neighbours, threshold t = {parameters.Threshold} of {parameters.Holders} holders (Recommend for {dropout * 100:F0}% dropouts); one thread"));
        Console.WriteLine();
        Console.WriteLine(F($"  per device (the {survivors} that finished)   mean {mean,8:F1} ms   p50 {p50,8:F1} ms   max {max,8:F1} ms"));
        string[] phases = ["advertise keys", "share keys", "open shares", "encode (fixed point)", "mask", "unmask"];
        for (int p = 0; p < phases.Length; p++) Console.WriteLine(F($"    {phases[p],-20} {phaseMeans[p],8:F2} ms"));
        Console.WriteLine(F($"  server total                            {serverMs,8:F1} ms"));
        string[] serverPhases = ["receive keys", "close advertising", "receive shares", "close sharing", "receive masked inputs", "close masking", "receive unmask responses", "finish (unmask)"];
        for (int p = 0; p < serverPhases.Length; p++) Console.WriteLine(F($"    {serverPhases[p],-26} {r.ServerMs[p],8:F1} ms"));
        Console.WriteLine();
        Console.WriteLine(F($"  bytes per device   up {up / (double)survivors / KB,9:F1} KB   down {down / (double)survivors / KB,7:F1} KB   (input alone {4.0 * length / KB:F1} KB)"));
        Console.WriteLine(F($"  bytes in total     {(r.BytesUp.Sum() + r.BytesDown.Sum()) / 1e6,9:F2} MB (up {r.BytesUp.Sum() / 1e6:F2} MB, down {r.BytesDown.Sum() / 1e6:F2} MB)"));
        Console.WriteLine();
        Console.WriteLine(F($"  plain aggregation: device 0 ms (no masking), server {plainServerMs:F2} ms to sum {survivors} float vectors,"));
        Console.WriteLine(F($"                     {plainBytesPerDevice / KB:F1} KB up per device, {plainBytesPerDevice * survivors / 1e6:F2} MB in total"));
        Console.WriteLine(F($"  overhead: server {serverMs / Math.Max(plainServerMs, 1e-9):F0}× plain, bytes up per device {up / (double)survivors / plainBytesPerDevice:F3}×, total bytes {(r.BytesUp.Sum() + r.BytesDown.Sum()) / (double)(plainBytesPerDevice * survivors):F3}×"));
        Console.WriteLine(F($"  unmasked sum vs plain float sum: max |error| = {maxError:G3} (fixed-point scale {r.Scale:G4})"));
        return 0;
    }

    private sealed record RoundFigures(double[][] DeviceMs, double[] ServerMs, long[] BytesUp, long[] BytesDown, int[] Survivors, float[] Decoded, double Scale);

    private static RoundFigures RunRound(SecAggParameters parameters, int[] dropped, ulong seed)
    {
        int n = parameters.ClientCount, m = parameters.VectorLength;
        var encoding = FixedPointEncoding.ForSummands(clip: 1, summands: n);
        var deviceMs = Enumerable.Range(0, n).Select(_ => new double[6]).ToArray();
        var serverMs = new double[8];
        var up = new long[n];
        var down = new long[n];
        var server = new ServerSession(parameters);
        var clients = Enumerable.Range(0, n).Select(i => new ClientSession(parameters, i)).ToArray();
        var isDropped = dropped.ToHashSet();
        try
        {
            foreach (var c in clients)
            {
                var advert = Time(() => c.AdvertiseKeys(), ref deviceMs[c.ClientId][0]);
                up[c.ClientId] += advert.WireBytes;
                Time(() => server.Receive(advert), ref serverMs[0]);
            }
            var broadcasts = Time(server.CloseAdvertising, ref serverMs[1]);
            foreach (var b in broadcasts)
            {
                down[b.RecipientId] += b.WireBytes;
                var shares = Time(() => clients[b.RecipientId].ShareKeys(b), ref deviceMs[b.RecipientId][1]);
                up[b.RecipientId] += shares.WireBytes;
                Time(() => server.Receive(shares), ref serverMs[2]);
            }
            var deliveries = Time(server.CloseSharing, ref serverMs[3]);
            var update = new float[m];
            var words = new uint[m];
            foreach (var d in deliveries)
            {
                int u = d.RecipientId;
                down[u] += d.WireBytes;
                if (isDropped.Contains(u)) continue;   // fetched its shares, never uploads
                Update(seed, u, update);
                Time(() => clients[u].ReceiveShares(d), ref deviceMs[u][2]);
                Time(() => encoding.Encode(update, words), ref deviceMs[u][3]);
                var masked = Time(() => clients[u].MaskInput(words), ref deviceMs[u][4]);
                up[u] += masked.WireBytes;
                Time(() => server.Receive(masked), ref serverMs[4]);
            }
            var requests = Time(server.CloseMasking, ref serverMs[5]);
            foreach (var q in requests)
            {
                down[q.RecipientId] += q.WireBytes;
                var response = Time(() => clients[q.RecipientId].Unmask(q), ref deviceMs[q.RecipientId][5]);
                up[q.RecipientId] += response.WireBytes;
                Time(() => server.Receive(response), ref serverMs[6]);
            }
            var result = Time(server.Finish, ref serverMs[7]);
            var decoded = new float[m];
            encoding.Decode(result.Sum, decoded);
            return new RoundFigures(deviceMs, serverMs, up, down, [.. result.Survivors], decoded, encoding.Scale);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    /// <summary>Device u's update: Gaussian, σ = 0.01, from its own stream (regenerated for the plain sum).</summary>
    private static void Update(ulong seed, int u, float[] update)
    {
        var rng = Rng.ForStream(seed, (ulong)u);
        for (int i = 0; i < update.Length; i++) update[i] = (float)(0.01 * rng.NextGaussian());
    }

    private static T Time<T>(Func<T> step, ref double ms)
    {
        long t0 = Stopwatch.GetTimestamp();
        var result = step();
        ms += Ms(Stopwatch.GetTimestamp() - t0);
        return result;
    }

    private static void Time(Action step, ref double ms)
    {
        long t0 = Stopwatch.GetTimestamp();
        step();
        ms += Ms(Stopwatch.GetTimestamp() - t0);
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
