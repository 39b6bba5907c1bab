using Ftte.Data;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Training;
using Ftte.Federation;
using Ftte.Federation.Strategies;
using Ftte.Simulation;
using Ftte.Simulation.Fleet;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>Small real setups: scikit-learn's digits (8×8) on an MLP trains in milliseconds per task.</summary>
internal static class SimulationFixtures
{
    private static readonly Lazy<DatasetSplits> Digits = new(() => DatasetCatalog.Load("digits"));

    public static DatasetSplits DigitsData => Digits.Value;

    public static DeviceProfile Device(int id, string tier = "phone", long memory = 64L << 20, double flops = 1e8,
        double down = 1e6, double up = 1e6, double latency = 0.1, Availability? availability = null, double dropout = 0) =>
        new(id, tier, memory, flops, down, up, latency, availability ?? Availability.Always, dropout);

    public static DeviceProfile[] Uniform(int n, double dropout = 0) =>
        [.. Enumerable.Range(0, n).Select(i => Device(i, flops: 1e8 * (1 + i % 3), dropout: dropout))];

    public static LocalTraining Local { get; } = new(1, 16, new SgdOptions { LearningRate = 0.1f }, LearningRateSchedule.Constant);

    /// <summary>
    /// Small baselines: FedAvg with C = 4 of ⌈1.5·4⌉ = 6 dispatched and a 5 s deadline; FedAsync with M = 6;
    /// FedBuff with M = 6, K = 3.
    /// </summary>
    public static Strategy Baseline(string kind, ulong seed = 1, bool ignoreMemory = false) => kind switch
    {
        "fedavg" => new FedAvg(new FedAvgOptions(DevicesPerRound: 4, OverSelection: 1.5, DeadlineSeconds: 5, IgnoreMemory: ignoreMemory, Seed: seed), Local),
        "fedasync" => new FedAsync(new FedAsyncOptions(Concurrency: 6, Alpha: 0.6, IgnoreMemory: ignoreMemory, Seed: seed), Local),
        "fedbuff" => new FedBuff(new FedBuffOptions(Concurrency: 6, BufferSize: 3, IgnoreMemory: ignoreMemory, Seed: seed), Local),
        _ => throw new ArgumentException($"No baseline '{kind}'.", nameof(kind)),
    };

    public static Model Mlp(ulong seed = 7)
    {
        var model = BuiltInModels.Mlp(inputs: 64, classes: 10, seed: seed);
        return model;
    }

    public static Simulator Create(IReadOnlyList<DeviceProfile> devices, SimulationOptions options, PartitionScheme scheme = PartitionScheme.Iid, ulong seed = 3)
    {
        var data = DigitsData;
        var partition = Partitioner.Split(data.Train, new PartitionOptions { Devices = devices.Count, Scheme = scheme, Seed = seed, ValidationFraction = 0 });
        return new Simulator(devices, partition, data.Test, Mlp(), options);
    }
}
