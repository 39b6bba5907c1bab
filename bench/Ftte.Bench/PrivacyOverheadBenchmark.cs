using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Federation.Compression;
using Ftte.Federation.Privacy;
using Ftte.Federation.Privacy.SecAgg;

namespace Ftte.Bench;

/// <summary>
/// `privacy-overhead`: what each privacy and compression step costs per update of P parameters (default 100,000), one
/// thread, median of R repeats (default 21) after a warm-up: the device's DP work (clip; clip and its distributed noise
/// share, seeded and cryptographic), the server's DP step (K = 10 clipped updates summed, central noise, release),
/// each codec's encode and decode with its bytes and relative RMS error, and a SecAgg member's encoding and masking
/// in a 16-member group (32-bit fixed point, and 8-bit values in a 16-bit ring) against none.
/// Updates are Gaussian (σ = 0.01). Options: --params P, --repeats R, --seed S, --json.
/// </summary>
internal static class PrivacyOverheadBenchmark
{
    public static int Run(string[] args)
    {
        bool json = BenchArgs.Flag(args, "--json");
        int length = (int)BenchArgs.Double(args, "--params", 100_000);
        int repeats = (int)BenchArgs.Double(args, "--repeats", 21);
        ulong seed = (ulong)BenchArgs.Double(args, "--seed", 1);
        var rng = new Rng(seed);
        var delta = new float[length];
        for (int i = 0; i < length; i++) delta[i] = 0.01f * (float)rng.NextGaussian();
        WeightRange[] all = [new WeightRange(0, length)];
        var work = new float[length];
        var rows = new List<(string Step, double Ms, long? Bytes, double? Error)>();

        void Time(string step, Action prepare, Action run, long? bytes = null, double? error = null)
        {
            var samples = new double[repeats];
            prepare();
            run();   // warm-up
            for (int r = 0; r < repeats; r++)
            {
                prepare();
                long t0 = Stopwatch.GetTimestamp();
                run();
                samples[r] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            Array.Sort(samples);
            rows.Add((step, samples[repeats / 2], bytes, error));
        }

        void Reset() => delta.CopyTo(work, 0);
        Time("DP device: clip to C", Reset, () => ClientDp.Clip(work, all, 0.1));
        var seeded = NoiseSource.Seeded(seed);
        Time("DP device: clip + noise share (seeded)", Reset, () => ClientDp.ClipAndNoise(work, all, 0.1, 0.02, seeded));
        var secure = NoiseSource.Secure();
        Time("DP device: clip + noise share (OS CSPRNG)", Reset, () => ClientDp.ClipAndNoise(work, all, 0.1, 0.02, secure));

        var options = new ClientDpOptions { NoiseMultiplier = 1.0, ClipNorm = 0.1, BufferSize = 10 };
        var weights = new float[length];
        Time("DP server: 10 updates clipped + summed, noise, release", () => { }, () =>
        {
            var dp = new ClientDpAggregator(length, options, seeded);
            for (int d = 0; d < 10; d++) dp.Add(d, delta, all);
            dp.Release(weights, 0.02);
        });

        foreach (string name in new[] { "float16", "q8", "q4", "q2", "topk:0.01" })
        {
            var codec = UpdateCodec.Parse(name);
            byte[] encoded = UpdateCompression.Encode(codec, delta, all, new Rng(seed));
            var decoded = new float[length];
            UpdateCompression.Decode(codec, encoded, all, decoded);
            double err = 0, norm = 0;
            for (int i = 0; i < length; i++) { err += (decoded[i] - delta[i]) * (double)(decoded[i] - delta[i]); norm += delta[i] * (double)delta[i]; }
            Time($"codec {name}: encode", () => { }, () => UpdateCompression.Encode(codec, delta, all, new Rng(seed)), encoded.Length, Math.Sqrt(err / norm));
            Time($"codec {name}: decode", () => { }, () => UpdateCompression.Decode(codec, encoded, all, decoded));
        }

        foreach (var (label, ring, bits) in new[] { ("SecAgg member: encode + mask, 32-bit fixed point", 32, (int?)null), ("SecAgg member: encode + mask, 8-bit in 16-bit ring", 16, (int?)8) })
        {
            // A member of a 16-member complete-graph group that has its shares: masking is 1 self mask + 15 pairwise masks.
            var parameters = SecAggParameters.Complete(1, 16, length, 9);
            var members = Enumerable.Range(0, 16).Select(i => new SecureMember(new GroupInvitation(parameters, i), Rng.Mix(seed, (ulong)i))).ToArray();
            var server = new ServerSession(parameters);
            foreach (var m in members) server.Receive(m.Advertise());
            foreach (var b in server.CloseAdvertising()) server.Receive(members[b.RecipientId].Share(b));
            var plan = new MaskPlan(1.0, null, 0, 0.05, ring, bits, 16);
            foreach (var d in server.CloseSharing()) members[d.RecipientId].Receive(d, plan);
            // A member masks once per round, so each of the 15 others is timed once; member 0 warms up.
            Reset();
            var masked = members[0].Mask(work, seeded, new Rng(seed));
            var times = new List<double>();
            for (int i = 1; i < 16; i++)
            {
                Reset();
                long t0 = Stopwatch.GetTimestamp();
                members[i].Mask(work, seeded, new Rng(seed));
                times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
            times.Sort();
            rows.Add((label + " (median of 15 members)", times[times.Count / 2], masked.Values.Length * (long)(ring / 8) + 16, null));
            foreach (var m in members) m.Dispose();
        }

        if (json)
        {
            foreach (var (step, ms, bytes, error) in rows)
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["benchmark"] = "privacy-overhead", ["params"] = length, ["step"] = step, ["ms"] = Math.Round(ms, 3), ["bytes"] = bytes, ["relativeRmsError"] = error,
                }));
            return 0;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"privacy-overhead: {length:N0} parameters, median of {repeats} (one thread)"));
        Console.WriteLine($"{"step",-74} {"ms",9} {"bytes",11} {"rel. RMS err",13}");
        foreach (var (step, ms, bytes, error) in rows)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{step,-74} {ms,9:F3} {(bytes is { } b ? b.ToString("N0", CultureInfo.InvariantCulture) : ""),11} {(error is { } e ? e.ToString("G3", CultureInfo.InvariantCulture) : ""),13}"));
        return 0;
    }
}
