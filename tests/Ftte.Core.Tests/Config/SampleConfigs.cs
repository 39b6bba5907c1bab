using Ftte.Core.Config;

namespace Ftte.Core.Tests.Config;

// Small configuration types in the shapes the simulator's config takes: positional records with defaults, init
// properties with initialisers, nested records, lists, maps, enums, attributes, and cross-key validation.

public enum StrategyKind { FedAvg, FedBuff, FedAsync, MobileNetV2 }

public sealed record SimConfig(
    [property: ConfigDoc("Seed of the whole run.")] ulong Seed,
    FleetConfig Fleet,
    IReadOnlyList<StrategyConfig> Strategies)
{
    [ConfigDoc("Rounds to simulate.")]
    [ConfigRange(1)]
    public int Rounds { get; init; } = 100;

    [DurationValue]
    [ConfigRange(0)]
    public double TimeLimit { get; init; } = 3600;

    public IReadOnlyDictionary<string, DeviceProfileConfig> Profiles { get; init; } = new Dictionary<string, DeviceProfileConfig>();

    public string? Note { get; init; }

    public List<int> Checkpoints { get; init; } = [];
}

public sealed record FleetConfig([ConfigRange(1)] int Devices, [ConfigRange(0, 1)] double ParticipationRate = 0.1)
{
    [ByteSizeValue]
    public long MemoryBudget { get; init; } = 2L << 20;

    [AllowedValues("uniform", "dirichlet")]
    public string Partition { get; init; } = "uniform";
}

public sealed record StrategyConfig(
    [property: ConfigDoc("Aggregation strategy.")] StrategyKind Kind,
    [property: ConfigRange(1)] int BufferSize = 10,
    int? Concurrency = null);

public sealed record DeviceProfileConfig(double Gflops, [property: ByteSizeValue] long Memory) : IValidatableConfig
{
    public void Validate(string path)
    {
        if (Gflops <= 0) throw new ConfigException(ConfigPath.Child(path, "gflops"), $"must be > 0, got {Gflops}.");
    }
}

public sealed class TrainerOptions
{
    public required string Name { get; init; }
    public float LearningRate { get; init; } = 0.01f;
    public bool Enabled { get; init; } = true;
    public StrategyKind? Fallback { get; init; }
    public ulong MaxSamples { get; init; } = ulong.MaxValue;
    public byte Bits { get; init; } = 8;
    public int[] Layers { get; init; } = [64, 32];
    public IReadOnlyList<string?> Tags { get; init; } = [];
}

public sealed record Bounds(int Min, int Max) : IValidatableConfig
{
    public void Validate(string path)
    {
        if (Min > Max) throw new ConfigException(ConfigPath.Child(path, "min"), $"must be ≤ max ({Max}), got {Min}.");
    }
}

public sealed record CheckedInConstructor(int Size)
{
    public int Size { get; } = Size >= 0 ? Size : throw new ArgumentOutOfRangeException(nameof(Size), "Size must be non-negative.");
}

public sealed record NestedLimits(Bounds Outer, IReadOnlyList<Bounds> Inner);

public sealed record Area(int Width, int Height)
{
    public int Size => Width * Height;
}
