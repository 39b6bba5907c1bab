using Ftte.Core.Config;
using Ftte.Data;
using Ftte.Engine.Training;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Compression;
using Ftte.Federation.Config;

namespace Ftte.Simulation.Config;

/// <summary>
/// Every knob of a simulated experiment, as written in a JSON config (camelCase keys). Unknown keys and
/// bad values are errors that name the key and the allowed values (<see cref="StrictJson"/>). A resolved
/// config is saved with every run so that it can be re-run exactly.
/// </summary>
public sealed record SimulationConfig : IValidatableConfig
{
    [ConfigDoc("Label of the experiment; also the default output folder name.")]
    public string Name { get; init; } = "custom";
    [ConfigDoc("Seed of everything: model init, fleet, partition, task seeds, dropouts, availability.")]
    public ulong Seed { get; init; } = 1;
    [ConfigDoc("Built-in model (mlp, lenet, mobilenetv2-tiny) or a model description .json file.")]
    public string Model { get; init; } = "lenet";
    [ConfigDoc(InitialWeightsFile.Doc)]
    public string? InitialWeights { get; init; }
    public DataConfig Data { get; init; } = new();
    public FleetConfig Fleet { get; init; } = new();
    public LocalConfig Local { get; init; } = new();
    public RunConfig Run { get; init; } = new();
    [ConfigDoc("Strategies to run on the same fleet, data and seed (compare runs them all; simulate runs one).")]
    public IReadOnlyList<StrategyConfig> Strategies { get; init; } = [new StrategyConfig { Kind = StrategyKind.Fedbuff }];
    [ConfigDoc("Label of the strategy the others are measured against (reductions table); absent: none.")]
    public string? Reference { get; init; }
    [ConfigDoc("Re-run some strategies at other fleet sizes for a scaling curve; absent: none.")]
    public ScalingConfig? Scaling { get; init; }
    [ConfigDoc("Update codecs (what devices upload); absent: Δ travels uncompressed as float32 in the engine's parameter format.")]
    public CompressionConfig? Compression { get; init; }

    public void Validate(string path)
    {
        if (Strategies.Count == 0)
            throw new ConfigException(ConfigPath.Child(path, "strategies"), "expected at least one strategy, e.g. [{\"kind\": \"fedbuff\"}].");
        var labels = new HashSet<string>();
        for (int i = 0; i < Strategies.Count; i++)
            if (!labels.Add(Strategies[i].Label))
                throw new ConfigException(ConfigPath.Index(ConfigPath.Child(path, "strategies"), i),
                    $"two strategies are both called '{Strategies[i].Label}'; give one a different \"name\".");
        if (Reference is { } reference && !labels.Contains(reference))
            throw new ConfigException(ConfigPath.Child(path, "reference"),
                $"no strategy is called '{reference}'; expected one of {string.Join(", ", labels)}.");
        if (Scaling is { } scaling)
        {
            string at = ConfigPath.Child(path, "scaling");
            if (Fleet.File is not null)
                throw new ConfigException(at, "a scaling run generates fleets of each size from fleet.preset; it cannot resize a fleet file. Remove fleet.file or scaling.");
            for (int i = 0; i < scaling.Strategies.Count; i++)
                if (!labels.Contains(scaling.Strategies[i]))
                    throw new ConfigException(ConfigPath.Index(ConfigPath.Child(at, "strategies"), i),
                        $"no strategy is called '{scaling.Strategies[i]}'; expected one of {string.Join(", ", labels)}.");
        }
        if (Compression is { } compression)
            foreach (string label in compression.Strategies.Keys)
                if (!labels.Contains(label))
                    throw new ConfigException(ConfigPath.Child(ConfigPath.Child(ConfigPath.Child(path, "compression"), "strategies"), label),
                        $"no strategy is called '{label}'; expected one of {string.Join(", ", labels)}.");
    }
}

/// <summary>
/// How devices' updates travel: one codec, overrides per device tier, and per strategy label so that one config can
/// compare codecs (each codec a strategy entry with its own label). The upload a task costs on the virtual clock is
/// the codec's exact encoded size of the trained coordinates plus the parameter format's tensor headers, and the
/// strategy merges what the server would decode.
/// </summary>
public sealed record CompressionConfig : IValidatableConfig
{
    [ConfigDoc("Codec of every device's update: float32 (exact), float16, q8, q4, q2 (unbiased stochastic rounding, a float32 scale per 256 values), topk:R (the share R of largest |Δ|, with error feedback kept on the device).")]
    public string Codec { get; init; } = "float32";
    [ConfigDoc("Per device tier, a codec replacing codec, e.g. {\"sensor\": \"q4\"}; tiers must exist in the fleet.")]
    public IReadOnlyDictionary<string, string> Tiers { get; init; } = new Dictionary<string, string>();
    [ConfigDoc("Per strategy label, a codec replacing codec for that strategy's runs (tiers still apply), e.g. {\"FTTE, q8\": \"q8\"}.")]
    public IReadOnlyDictionary<string, string> Strategies { get; init; } = new Dictionary<string, string>();

    public void Validate(string path)
    {
        Check(ConfigPath.Child(path, "codec"), Codec);
        foreach (var (tier, codec) in Tiers) Check(ConfigPath.Child(ConfigPath.Child(path, "tiers"), tier), codec);
        foreach (var (label, codec) in Strategies) Check(ConfigPath.Child(ConfigPath.Child(path, "strategies"), label), codec);
    }

    private static void Check(string path, string codec)
    {
        if (!UpdateCodec.TryParse(codec, out _, out string? error)) throw new ConfigException(path, error);
    }

    /// <summary>The codecs of a strategy's runs: its own codec if <see cref="Strategies"/> names it, else <see cref="Codec"/>; then the tier overrides.</summary>
    public CodecPolicy PolicyFor(string strategyLabel) =>
        CodecPolicy.Parse(Strategies.GetValueOrDefault(strategyLabel, Codec), Tiers);
}

public sealed record DataConfig : IValidatableConfig
{
    [ConfigDoc("Dataset: mnist, fashion-mnist, digits, iris, wine, breast-cancer (fetched on first use).")]
    public string Dataset { get; init; } = "mnist";
    [ConfigDoc("How training data is dealt to devices.")]
    public PartitionScheme Partition { get; init; } = PartitionScheme.Dirichlet;
    [ConfigDoc("Dirichlet concentration α (dirichlet): small is skewed, large is near IID.")]
    [ConfigRange(1e-6)]
    public double Alpha { get; init; } = 0.5;
    [ConfigDoc("Classes per device (shards).")]
    [ConfigRange(1)]
    public int ClassesPerDevice { get; init; } = 2;
    [ConfigDoc("σ of the lognormal device sizes (quantity-skew).")]
    [ConfigRange(0)]
    public double QuantitySigma { get; init; } = 1.0;
    [ConfigDoc("Share of each device's samples held out for on-device validation.")]
    [ConfigRange(0, 0.9)]
    public double ValidationFraction { get; init; } = 0.1;

    public void Validate(string path)
    {
        if (!DatasetCatalog.Names.Contains(Dataset))
            throw new ConfigException(ConfigPath.Child(path, "dataset"), $"unknown dataset '{Dataset}'; expected one of {string.Join(", ", DatasetCatalog.Names)}.");
    }
}

public sealed record FleetConfig : IValidatableConfig
{
    [ConfigDoc("Fleet preset: tiers4, stragglers-90, uniform (ignored when file is set).")]
    public string Preset { get; init; } = "tiers4";
    [ConfigDoc("Devices generated from the preset.")]
    [ConfigRange(1, 1_000_000)]
    public int Devices { get; init; } = 100;
    [ConfigDoc("A fleet file (.json or .csv, see docs/fleets.md) instead of a preset.")]
    public string? File { get; init; }

    public void Validate(string path)
    {
        if (File is null && !Ftte.Simulation.Fleet.FleetPresets.Names.Contains(Preset))
            throw new ConfigException(ConfigPath.Child(path, "preset"),
                $"unknown fleet preset '{Preset}'; expected one of {string.Join(", ", Ftte.Simulation.Fleet.FleetPresets.Names)}, or set \"file\".");
    }
}

/// <summary>How long to run and how to measure.</summary>
public sealed record RunConfig
{
    [ConfigDoc("Virtual time to simulate: seconds or \"90s\", \"15min\", \"2h\".")]
    [DurationValue, ConfigRange(1)]
    public double MaxTime { get; init; } = 3600;
    [ConfigDoc("Stop at this global version (absent: no limit).")]
    [ConfigRange(1)]
    public int? MaxVersions { get; init; }
    [ConfigDoc("Accuracy that time-to-target is measured against.")]
    [ConfigRange(0, 1)]
    public double TargetAccuracy { get; init; } = 0.9;
    public bool StopAtTarget { get; init; }
    [ConfigDoc("Evaluate the global model at most this often (virtual time).")]
    [DurationValue, ConfigRange(0.001)]
    public double EvalEvery { get; init; } = 60;
    [ConfigDoc("Test samples per evaluation (a fixed seeded subset); 0 = the whole test set.")]
    [ConfigRange(0)]
    public int EvalSamples { get; init; } = 2000;
    [ConfigDoc("Host threads training tasks; 0 = one per core. Results do not depend on it.")]
    [ConfigRange(0, 256)]
    public int Workers { get; init; }
    [ConfigDoc("Let every device run every task regardless of memory (like-for-like comparison).")]
    public bool IgnoreMemory { get; init; }
}

/// <summary>The scaling run: the same experiment (preset fleet, data, seed) at several fleet sizes.</summary>
public sealed record ScalingConfig : IValidatableConfig
{
    [ConfigDoc("Fleet sizes, e.g. [100, 250, 500, 1000].")]
    [ConfigRange(1, 1_000_000)]
    public IReadOnlyList<int> Devices { get; init; } = [100, 250, 500, 1000];
    [ConfigDoc("Labels of the strategies to re-run; empty: all.")]
    public IReadOnlyList<string> Strategies { get; init; } = [];

    public void Validate(string path)
    {
        if (Devices.Count == 0) throw new ConfigException(ConfigPath.Child(path, "devices"), "expected at least one fleet size.");
        if (Devices.Distinct().Count() != Devices.Count) throw new ConfigException(ConfigPath.Child(path, "devices"), "each fleet size once, please.");
    }
}
