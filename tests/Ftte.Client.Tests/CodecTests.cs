using Ftte.Core.Config;
using Ftte.Data;
using Ftte.Federation.Compression;
using Ftte.Server;
using Ftte.Server.Storage;

namespace Ftte.Client.Tests;

/// <summary>
/// <see cref="DeviceClient"/> with compressed updates against a real server over loopback: the codec the server asks
/// for or the device's own, uploads of exactly the codec's size, and top-k's error feedback kept on the device.
/// </summary>
public sealed class CodecTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ftte-client-codec-").FullName;
    private string _state = "";

    /// <summary>The same Δ every task: coordinate j of the trained ranges moves by (j mod 97 + 1)·1e-4 — distinct magnitudes, so top-k's choice is unambiguous.</summary>
    private sealed class FixedTrainer : ILocalTrainer
    {
        public int Samples => 100;

        public Task<LocalUpdate> TrainAsync(TrainingRequest request, CancellationToken ct)
        {
            var delta = new float[request.Parameters.Length];
            int i = 0;
            foreach (var r in request.Trainable)
                for (int j = r.Offset; j < r.End; j++) delta[j] = (i++ % 97 + 1) * 1e-4f;
            return Task.FromResult(new LocalUpdate(delta, Samples));
        }
    }

    private async Task<ServerHost> StartServer(string codec, int bufferSize, int maxVersions)
    {
        var config = StrictJson.Parse<ServerConfig>(
            $$"""{ "model": "mlp", "dataset": "mnist", "strategy": { "kind": "fedbuff", "concurrency": 2, "bufferSize": {{bufferSize}} }, "server": { "minDevices": 2, "maxVersions": {{maxVersions}}, "stopAtTarget": false, "finishGrace": 0, "evalEvery": 1, "codec": "{{codec}}" } }""",
            "test config");
        _state = Path.Combine(_dir, $"server-{Guid.NewGuid():N}.db");
        var server = FederationServer.Open(_state, config, "codec-secret", new DataOptions());
        var host = ServerHost.Create(server, new EndpointOptions(Port: 0), _ => { });
        await host.StartAsync();
        return host;
    }

    private static DeviceOptions Device(ServerHost host, string name, UpdateCodec? codec) => new()
    {
        Server = new Uri(host.ListeningAddresses()[0]),
        Secret = "codec-secret",
        Name = name,
        MemoryBytes = 64L << 20,
        FlopsPerSecond = 1e9,
        LongPoll = TimeSpan.FromSeconds(2),
        Codec = codec,
    };

    private static async Task<DeviceSummary[]> Run(ServerHost host, UpdateCodec? codec)
    {
        var clients = new[] { new DeviceClient(Device(host, "d0", codec)), new DeviceClient(Device(host, "d1", codec)) };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { return await Task.WhenAll(clients.Select(c => c.RunAsync(new FixedTrainer(), timeout.Token))); }
        finally { foreach (var c in clients) c.Dispose(); }
    }

    /// <summary>Every upload of a run is one whole-model update of <paramref name="codec"/>: the bytes are a multiple of its size.</summary>
    private static void AssertUploadsAre(UpdateCodec codec, ServerHost host, DeviceSummary[] summaries)
    {
        long size = codec.EncodedSize(checked((int)host.Server.Global.Model.ParameterCount));
        foreach (var s in summaries)
        {
            Assert.Equal(0, s.BytesUp % size);
            Assert.True(s.BytesUp / size >= s.Accepted, $"{s.BytesUp} bytes up for {s.Accepted} accepted updates of {size} bytes");
        }
        Assert.Equal(summaries.Sum(s => s.BytesUp), host.Server.Status().BytesUp);
    }

    [Fact]
    public async Task DevicesWithTheirOwnQ8_OverrideTheServersFloat32_AndTheRunProgresses()
    {
        await using var host = await StartServer("float32", bufferSize: 2, maxVersions: 3);
        var summaries = await Run(host, StochasticQuantizer.Q8);

        Assert.All(summaries, s => Assert.Contains("reached version 3", s.EndReason));
        Assert.True(summaries.Sum(s => s.Accepted) >= 6, $"accepted {summaries.Sum(s => s.Accepted)}");
        Assert.Equal(0, host.Server.Status().UpdatesRefused);
        AssertUploadsAre(StochasticQuantizer.Q8, host, summaries);
    }

    [Fact]
    public async Task DevicesWithoutACodec_SendWhatTheServerAsksFor()
    {
        await using var host = await StartServer("q4", bufferSize: 2, maxVersions: 2);
        var summaries = await Run(host, codec: null);

        Assert.All(summaries, s => Assert.Contains("reached version 2", s.EndReason));
        AssertUploadsAre(StochasticQuantizer.Q4, host, summaries);
    }

    [Fact]
    public async Task TopK_CarriesWhatItDroppedIntoTheNextUpdate()
    {
        // A buffer the run never fills: every accepted update stays pending in the state file, as the server decoded it.
        await using (var host = await StartServer("topk:0.01", bufferSize: 1000, maxVersions: 1))
        {
            using var device = new DeviceClient(Device(host, "d0", null));
            using var other = new DeviceClient(Device(host, "d1", null));
            using var stop = new CancellationTokenSource();
            var runs = new[] { device, other }.Select(c => c.RunAsync(new FixedTrainer(), stop.Token)).ToArray();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (host.Server.Status().UpdatesAccepted < 4 && DateTime.UtcNow < deadline) await Task.Delay(100);
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(runs)); // the devices stop when told
            Assert.True(host.Server.Status().UpdatesAccepted >= 4, "4 updates were not accepted within 60 s");
        }
        using var store = ServerStore.Open(_state);
        var byDevice = store.LoadPending().GroupBy(p => p.DeviceId).Select(g => g.OrderBy(p => p.TaskId).ToArray()).First(g => g.Length >= 2);
        int[] Sent(PendingUpdate p) => [.. Enumerable.Range(0, p.Delta.Length).Where(j => p.Delta[j] != 0)];

        // Without feedback the same Δ would send the same largest coordinates every time; with it, what the first
        // upload left out has grown to 2Δ and displaces what was just sent (now residual 0).
        var first = Sent(byDevice[0]);
        var second = Sent(byDevice[1]);
        Assert.Equal(first.Length, second.Length);
        Assert.Empty(first.Intersect(second));
        // Top-k sends values exactly: Δ in the first, Δ + e = 2Δ in the second (FedBuff trains the whole model, so
        // coordinate j is FixedTrainer's j-th).
        static float Delta(int j) => (j % 97 + 1) * 1e-4f;
        Assert.All(first, j => Assert.Equal(Delta(j), byDevice[0].Delta[j]));
        Assert.All(second, j => Assert.Equal(Delta(j) + Delta(j), byDevice[1].Delta[j]));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
