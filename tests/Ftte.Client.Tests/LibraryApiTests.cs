using Ftte.Core.Config;
using Ftte.Data;
using Ftte.Server;

namespace Ftte.Client.Tests;

/// <summary>
/// The library API: an app's own training loop (any code that takes parameters and returns an update) joins a real
/// server over loopback through <see cref="DeviceClient"/>, without the engine's trainer.
/// </summary>
public sealed class LibraryApiTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ftte-client-").FullName;

    /// <summary>"Any code": a hand-written step that moves every trainable weight a little towards zero.</summary>
    private sealed class ShrinkTrainer(int samples, int delayMs = 0) : ILocalTrainer
    {
        public int Calls;
        public int Samples => samples;

        public async Task<LocalUpdate> TrainAsync(TrainingRequest request, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            if (delayMs > 0) await Task.Delay(delayMs, ct);
            var delta = new float[request.Parameters.Length];
            var w = request.Parameters.Span;
            foreach (var r in request.Trainable)
                for (int j = r.Offset; j < r.End; j++) delta[j] = -0.01f * w[j];
            return new LocalUpdate(delta, samples); // no loss reported: optional
        }
    }

    private async Task<ServerHost> StartServer(ServerConfig config)
    {
        var server = FederationServer.Open(Path.Combine(_dir, "server.db"), config, "lib-secret", new DataOptions());
        var host = ServerHost.Create(server, new EndpointOptions(Port: 0), _ => { });
        await host.StartAsync();
        return host;
    }

    private static ServerConfig Config(string strategyJson, int minDevices, int maxVersions) => StrictJson.Parse<ServerConfig>(
        $$"""{ "model": "mlp", "dataset": "mnist", "strategy": {{strategyJson}}, "server": { "minDevices": {{minDevices}}, "maxVersions": {{maxVersions}}, "stopAtTarget": false, "finishGrace": 0, "evalEvery": 1 } }""",
        "test config");

    private DeviceOptions Device(ServerHost host, string name, long memory) => new()
    {
        Server = new Uri(host.ListeningAddresses()[0]),
        Secret = "lib-secret",
        Name = name,
        MemoryBytes = memory,
        FlopsPerSecond = 1e9,
        LongPoll = TimeSpan.FromSeconds(2),
    };

    [Fact]
    public async Task AnAppsOwnTrainer_JoinsAndItsUpdatesMakeServerSteps()
    {
        await using var host = await StartServer(Config("""{ "kind": "fedbuff", "concurrency": 2, "bufferSize": 2 }""", minDevices: 2, maxVersions: 3));
        var trainers = new[] { new ShrinkTrainer(100), new ShrinkTrainer(200) };
        var clients = trainers.Select((t, i) => new DeviceClient(Device(host, $"app-{i}", 64L << 20))).ToArray();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var summaries = await Task.WhenAll(clients.Select((c, i) => c.RunAsync(trainers[i], timeout.Token)));

        Assert.All(summaries, s => Assert.Contains("reached version 3", s.EndReason));
        Assert.True(summaries.Sum(s => s.Accepted) >= 6, $"accepted {summaries.Sum(s => s.Accepted)}");
        // Every accepted update came from an app trainer (which device trains more is a race: a device that enrolled
        // first waits a second before polling again, and FedBuff happily takes several updates from the other).
        Assert.True(trainers.Sum(t => t.Calls) >= summaries.Sum(s => s.Accepted));
        var status = host.Server.Status();
        Assert.Equal(3, status.Version);
        Assert.True(status.Finished);
        foreach (var c in clients) c.Dispose();
    }

    [Fact]
    public async Task ADeviceThatCannotHoldThePlan_IsLeftOut_AndTheRunWaitsForOneThatCan()
    {
        // FedAvg trains the whole MLP: a 64 KiB device cannot hold it, so training waits for a bigger device.
        await using var host = await StartServer(Config("""{ "kind": "fedavg", "devicesPerRound": 1 }""", minDevices: 1, maxVersions: 2));
        using var small = new DeviceClient(Device(host, "small", 64 << 10));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var smallRun = small.RunAsync(new ShrinkTrainer(50), timeout.Token);
        await Task.Delay(1500);
        Assert.False(host.Server.Status().Finished);
        Assert.Equal(0, host.Server.Status().Version);

        using var big = new DeviceClient(Device(host, "big", 64L << 20));
        var bigTrainer = new ShrinkTrainer(50);
        var bigSummary = await big.RunAsync(bigTrainer, timeout.Token);
        var smallSummary = await smallRun;
        Assert.Equal(2, bigSummary.Accepted);
        Assert.Equal(0, smallSummary.Tasks);
    }

    [Fact]
    public async Task AFailingOnDeviceCheck_WithholdsTheUpdate_AndTheServerNeverSeesIt()
    {
        await using var host = await StartServer(Config("""{ "kind": "fedbuff", "concurrency": 2, "bufferSize": 2 }""", minDevices: 2, maxVersions: 2));
        // Device "picky" withholds every update (an app's own rule); device "ok" keeps the run going.
        var picky = new DeviceClient(Device(host, "picky", 64L << 20) with { Checks = [.. UpdateChecks.Defaults, _ => "app says no"] });
        var ok = new DeviceClient(Device(host, "ok", 64L << 20));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var pickyRun = picky.RunAsync(new ShrinkTrainer(100), timeout.Token);
        // "ok" trains slowly enough that "picky" (which may poll a second later) certainly gets tasks before the run ends.
        var okSummary = await ok.RunAsync(new ShrinkTrainer(100, delayMs: 1500), timeout.Token);
        var pickySummary = await pickyRun;

        Assert.True(pickySummary.Withheld > 0);
        Assert.Equal(0, pickySummary.Accepted);
        Assert.Equal(0, pickySummary.BytesUp);
        Assert.True(okSummary.Accepted >= 4);
        picky.Dispose();
        ok.Dispose();
    }

    [Fact]
    public void BuiltInChecks_SayWhy()
    {
        var request = new TrainingRequest(1, 0, Ftte.Engine.Models.ModelSource.Load("mlp", 1, new Ftte.Engine.Shape([4]), 2), new float[3], null!, [], Federation.LocalTraining.Default, 1);
        UpdateCheckContext Context(float[] delta, double loss = 1, double? before = null, double? after = null) =>
            new(request, new LocalUpdate(delta, 10, loss), before, after);

        Assert.Null(UpdateChecks.FiniteDelta(Context([1, 2, 3])));
        Assert.Contains("NaN", UpdateChecks.FiniteDelta(Context([1, float.NaN, 3])));
        Assert.Contains("loss", UpdateChecks.FiniteLoss(Context([0], double.PositiveInfinity)));
        Assert.Null(UpdateChecks.FiniteLoss(Context([0], double.NaN))); // not reported is fine
        Assert.Contains("exceeds 1", UpdateChecks.MaxNorm(1)(Context([3, 4])));
        Assert.Null(UpdateChecks.MaxNorm(5)(Context([3, 4])));
        Assert.Contains("fell from 90.0 % to 80.0 %", UpdateChecks.MaxAccuracyDrop(0.05)(Context([0], 1, 0.9, 0.8)));
        Assert.Null(UpdateChecks.MaxAccuracyDrop(0.05)(Context([0], 1, 0.9, 0.88)));
    }

    [Theory]
    [InlineData("flops=2e8,down=1e6,up=5e5", 2e8, 1e6, 5e5)]
    [InlineData("up=1000", null, null, 1000.0)]
    public void Throttle_Parses(string text, double? flops, double? down, double? up) =>
        Assert.Equal(new Throttle(flops, down, up), Throttle.Parse(text));

    [Theory]
    [InlineData("flops=fast", "flops=fast")]
    [InlineData("speed=3", "Unknown throttle key 'speed'")]
    [InlineData("down=-1", "down=-1")]
    public void Throttle_BadText_NamesIt(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<FormatException>(() => Throttle.Parse(text)).Message);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
