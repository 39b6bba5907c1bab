using Ftte.Core.Config;
using Ftte.Data;
using Ftte.Server;

namespace Ftte.Client.Tests;

/// <summary>
/// Secure aggregation on the wire: devices run the SecAgg exchange with a real server over loopback while they train,
/// upload only masked inputs, answer the unmasking request, and the server's step is the mean of their updates.
/// </summary>
public sealed class SecureAggregationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ftte-client-secagg-").FullName;

    /// <summary>Δ = (device index + 1)·1e-3 on every trained coordinate, after a short pause (so keys are exchanged while "training").</summary>
    private sealed class ConstantTrainer(int index) : ILocalTrainer
    {
        public int Samples => 50;

        public async Task<LocalUpdate> TrainAsync(TrainingRequest request, CancellationToken ct)
        {
            await Task.Delay(200, ct);
            var delta = new float[request.Parameters.Length];
            foreach (var r in request.Trainable) Array.Fill(delta, (index + 1) * 1e-3f, r.Offset, r.Length);
            return new LocalUpdate(delta, 50);
        }
    }

    private async Task<ServerHost> StartServer(string secure, int maxVersions)
    {
        var config = StrictJson.Parse<ServerConfig>(
            $$"""
            { "model": "mlp", "dataset": "mnist",
              "strategy": { "kind": "ftte", "concurrency": 4, "bufferSize": 3, "trainable": "fc3", "stragglerFactor": 0, "weighting": "none",
                            "secureAggregation": {{secure}} },
              "server": { "minDevices": 4, "maxVersions": {{maxVersions}}, "stopAtTarget": false, "finishGrace": 2, "evalEvery": 1 } }
            """, "test config");
        var server = FederationServer.Open(Path.Combine(_dir, $"server-{Guid.NewGuid():N}.db"), config, "secagg-secret", new DataOptions());
        var host = ServerHost.Create(server, new EndpointOptions(Port: 0), _ => { });
        await host.StartAsync();
        return host;
    }

    private static async Task<DeviceSummary[]> Run(ServerHost host, int devices)
    {
        var clients = Enumerable.Range(0, devices).Select(i => new DeviceClient(new DeviceOptions
        {
            Server = new Uri(host.ListeningAddresses()[0]),
            Secret = "secagg-secret",
            Name = $"d{i}",
            MemoryBytes = 64L << 20,
            FlopsPerSecond = 1e9,
            LongPoll = TimeSpan.FromSeconds(2),
        })).ToArray();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try { return await Task.WhenAll(clients.Select((c, i) => c.RunAsync(new ConstantTrainer(i), timeout.Token))); }
        finally { foreach (var c in clients) c.Dispose(); }
    }

    [Theory]
    [InlineData("""{ "groupSize": 4, "graceSeconds": 5 }""", 1e-6)]
    [InlineData("""{ "groupSize": 4, "graceSeconds": 5, "ringBits": 16, "valueBits": 8, "valueRange": 0.01 }""", 0.01 / 127)]
    public async Task TheFirstStepIsTheMeanOfTheGroupsMaskedUpdates(string secure, double tolerance)
    {
        await using var host = await StartServer(secure, maxVersions: 1);
        var fc3 = host.Server.Global.Model.Parameter("fc3.weight");
        var before = host.Server.Global.Weights.Slice(fc3.Offset, fc3.Count).ToArray();
        var summaries = await Run(host, 4);

        var status = host.Server.Status();
        Assert.True(status.Version >= 1, $"version {status.Version}: {status.StopReason}");
        Assert.Equal(4, summaries.Sum(s => s.Accepted));
        // One group of the 4 devices: Δ = 1, 2, 3, 4 (×1e-3) → the step moves fc3 by their mean, 2.5e-3.
        var after = host.Server.Global.Weights.Slice(fc3.Offset, fc3.Count).ToArray();
        for (int j = 0; j < after.Length; j++) Assert.Equal(2.5e-3, after[j] - before[j], tolerance);
        Assert.DoesNotContain(status.Refusals, r => r.Value > 0);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
