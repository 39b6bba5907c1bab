using Ftte.Core.Config;
using Ftte.Data;
using Ftte.Federation.Compression;
using Ftte.Federation.Config;

namespace Ftte.Server;

/// <summary>
/// A federation server's run, as written in a JSON config (the same strict binding as the simulator's: unknown
/// keys and bad values name the key). Defaults start a working MNIST federation with FTTE: <c>ftte serve</c>
/// alone. The resolved config is stored in the state database with the run.
/// </summary>
public sealed record ServerConfig : IValidatableConfig
{
    [ConfigDoc("Label of the run.")]
    public string Name { get; init; } = "federation";
    [ConfigDoc("Seed of the initial model, the strategy's sampling and selection, and task seeds.")]
    public ulong Seed { get; init; } = 1;
    [ConfigDoc("Built-in model (mlp, lenet, mobilenetv2-tiny) or a model description .json file.")]
    public string Model { get; init; } = "lenet";
    [ConfigDoc(InitialWeightsFile.Doc)]
    public string? InitialWeights { get; init; }
    [ConfigDoc("Dataset whose test split the server evaluates on (and whose train split gives FTTE's proxy set): mnist, fashion-mnist, ...")]
    public string Dataset { get; init; } = "mnist";
    public StrategyConfig Strategy { get; init; } = new() { Kind = StrategyKind.Ftte, Concurrency = 8, BufferSize = 4 };
    public LocalConfig Local { get; init; } = new();
    public ServeConfig Server { get; init; } = new();

    public void Validate(string path)
    {
        if (!DatasetCatalog.Names.Contains(Dataset))
            throw new ConfigException(ConfigPath.Child(path, "dataset"), $"unknown dataset '{Dataset}'; expected one of {string.Join(", ", DatasetCatalog.Names)}.");
    }
}

/// <summary>How the server runs: when it starts training, how it talks to devices, and when it stops.</summary>
public sealed record ServeConfig : IValidatableConfig
{
    [ConfigDoc("Devices that must enrol before the strategy starts (Flower's min_available_clients).")]
    [ConfigRange(1, 1_000_000)]
    public int MinDevices { get; init; } = 2;
    [ConfigDoc("Accuracy that time-to-target is measured against.")]
    [ConfigRange(0, 1)]
    public double TargetAccuracy { get; init; } = 0.9;
    [ConfigDoc("End the run when the target accuracy is reached.")]
    public bool StopAtTarget { get; init; } = true;
    [ConfigDoc("End the run at this global version (absent: no limit).")]
    [ConfigRange(1)]
    public int? MaxVersions { get; init; }
    [ConfigDoc("End the run after this long since it was created (wall time; absent: no limit).")]
    [DurationValue, ConfigRange(1)]
    public double? MaxTime { get; init; }
    [ConfigDoc("Evaluate the global model at most this often (wall time).")]
    [DurationValue, ConfigRange(0.1)]
    public double EvalEvery { get; init; } = 5;
    [ConfigDoc("Test samples per evaluation (a fixed seeded subset); 0 = the whole test set.")]
    [ConfigRange(0)]
    public int EvalSamples { get; init; } = 2000;
    [ConfigDoc("A task with no heartbeat or upload for this long is expired and its device freed.")]
    [DurationValue, ConfigRange(1)]
    public double TaskTimeout { get; init; } = 120;
    [ConfigDoc("A device is online while it polls or heartbeats at least this often.")]
    [DurationValue, ConfigRange(1)]
    public double OnlineWindow { get; init; } = 45;
    [ConfigDoc("Longest a GetTask long poll is held open.")]
    [DurationValue, ConfigRange(0.1, 600)]
    public double LongPoll { get; init; } = 20;
    [ConfigDoc("Largest payload chunk sent or accepted (models and updates larger than this travel in chunks).")]
    [ByteSizeValue, ConfigRange(1024, 64 * 1024 * 1024)]
    public long ChunkBytes { get; init; } = 1024 * 1024;
    [ConfigDoc("Largest gRPC message accepted; larger ones are refused before they are buffered.")]
    [ByteSizeValue, ConfigRange(1024, 1024L * 1024 * 1024)]
    public long MaxMessageBytes { get; init; } = 4 * 1024 * 1024;
    [ConfigDoc("An update whose L2 norm exceeds this is refused (absurd norms).")]
    [ConfigRange(0.000001)]
    public double MaxUpdateNorm { get; init; } = 1000;
    [ConfigDoc("Refuse an update whose RMS value lies more than this many robust standard deviations (1.4826·MAD) above the median of the last 256 accepted updates of its trainable set (until a set has 20, the other sets' history scaled to it); 0 turns the outlier test off.")]
    [ConfigRange(0)]
    public double OutlierZ { get; init; } = 8;
    [ConfigDoc("How long a device token is valid; the device re-enrols with the secret after that.")]
    [DurationValue, ConfigRange(1)]
    public double TokenLifetime { get; init; } = 24 * 3600;
    [ConfigDoc("Stored model versions kept besides version 0 and the newest.")]
    [ConfigRange(1)]
    public int KeepVersions { get; init; } = 20;
    [ConfigDoc("Codec the server asks devices to send updates with: float32 (the parameter format), float16, q8, q4, q2 (unbiased stochastic rounding, a float32 scale per 256 values), topk:R (the share R of largest |Δ|, error feedback kept on the device). A device may choose another (ftte join --codec); any known codec is accepted, and every check runs on the decoded update.")]
    public string Codec { get; init; } = "float32";
    [ConfigDoc("Per device tier (as declared at enrolment, ftte join --tier), a codec replacing codec, e.g. {\"sensor\": \"q4\"}.")]
    public IReadOnlyDictionary<string, string> CodecTiers { get; init; } = new Dictionary<string, string>();
    [ConfigDoc("Keep answering for this long after the run ends, so devices learn it ended, then exit.")]
    [DurationValue, ConfigRange(0)]
    public double FinishGrace { get; init; } = 10;

    /// <summary>The codecs asked for, by tier (validated: names parse).</summary>
    public CodecPolicy Codecs() => CodecPolicy.Parse(Codec, CodecTiers);

    public void Validate(string path)
    {
        if (!UpdateCodec.TryParse(Codec, out _, out string? error)) throw new ConfigException(ConfigPath.Child(path, "codec"), error);
        foreach (var (tier, codec) in CodecTiers)
            if (!UpdateCodec.TryParse(codec, out _, out error)) throw new ConfigException(ConfigPath.Child(ConfigPath.Child(path, "codecTiers"), tier), error);
        if (ChunkBytes + 1024 > MaxMessageBytes)
            throw new ConfigException(ConfigPath.Child(path, "chunkBytes"), $"a chunk of {ChunkBytes:N0} bytes plus its envelope does not fit maxMessageBytes ({MaxMessageBytes:N0}); lower chunkBytes or raise maxMessageBytes.");
        if (LongPoll >= OnlineWindow)
            throw new ConfigException(ConfigPath.Child(path, "longPoll"), $"a long poll ({LongPoll} s) must be shorter than onlineWindow ({OnlineWindow} s), or polling devices would count as offline.");
    }
}
