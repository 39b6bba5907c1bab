using Ftte.Core.Config;
using Ftte.Federation;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Strategies;

namespace Ftte.Simulation.Config;

// Member names are what users type (kebab-case of the name): "fedavg", not "fed-avg".
public enum StrategyKind { Fedavg, Fedasync, Fedbuff }

/// <summary>
/// One strategy of an experiment. Keys are flat; each kind accepts only its own (a FedAvg with a
/// bufferSize is a mistake and is reported as one). Absent keys take the strategy's defaults.
/// </summary>
public sealed record StrategyConfig : IValidatableConfig
{
    [ConfigDoc("fedavg (synchronous rounds), fedasync (mix every arrival), fedbuff (buffered asynchronous).")]
    public StrategyKind Kind { get; init; } = StrategyKind.Fedbuff;
    [ConfigDoc("Label in reports; default: the strategy's own name with its key settings.")]
    public string? Name { get; init; }
    [ConfigDoc("Trainable set trained on devices: all, bias, last:K, or per-tensor rules (see ftte plan-memory).")]
    public string Trainable { get; init; } = "all";

    [ConfigDoc("fedavg: C, updates per round.")]
    [ConfigRange(1)]
    public int? DevicesPerRound { get; init; }
    [ConfigDoc("fedavg: dispatch ⌈C·overSelection⌉ and close at the first C.")]
    [ConfigRange(1, 10)]
    public double? OverSelection { get; init; }
    [ConfigDoc("fedavg: round deadline (virtual time); absent waits for all.")]
    [DurationValue, ConfigRange(0.001)]
    public double? Deadline { get; init; }
    [ConfigDoc("fedavg, fedbuff: server learning rate η.")]
    [ConfigRange(0, 100)]
    public double? ServerLearningRate { get; init; }

    [ConfigDoc("fedasync, fedbuff: devices training at once (M).")]
    [ConfigRange(1)]
    public int? Concurrency { get; init; }
    [ConfigDoc("fedbuff: updates per server step (K).")]
    [ConfigRange(1)]
    public int? BufferSize { get; init; }
    [ConfigDoc("fedasync: base mixing weight α.")]
    [ConfigRange(0.0001, 1)]
    public double? Alpha { get; init; }
    [ConfigDoc("fedasync, fedbuff: staleness function s(τ).")]
    public StalenessKind? Staleness { get; init; }
    [ConfigDoc("fedasync, fedbuff: a of polynomial (1+τ)^−a or hinge.")]
    [ConfigRange(0)]
    public double? StalenessA { get; init; }
    [ConfigDoc("fedasync, fedbuff: b of hinge (versions of full weight).")]
    [ConfigRange(0)]
    public double? StalenessB { get; init; }
    [ConfigDoc("fedasync, fedbuff: drop updates older than this many versions.")]
    [ConfigRange(0)]
    public int? MaxStaleness { get; init; }

    /// <summary>The label reports use.</summary>
    public string Label => Name ?? Kind.ToString().ToLowerInvariant();

    private static readonly Dictionary<StrategyKind, string[]> KeysOf = new()
    {
        [StrategyKind.Fedavg] = ["devicesPerRound", "overSelection", "deadline", "serverLearningRate"],
        [StrategyKind.Fedasync] = ["concurrency", "alpha", "staleness", "stalenessA", "stalenessB", "maxStaleness"],
        [StrategyKind.Fedbuff] = ["concurrency", "bufferSize", "serverLearningRate", "staleness", "stalenessA", "stalenessB", "maxStaleness"],
    };

    public void Validate(string path)
    {
        var set = new List<string>();
        if (DevicesPerRound is not null) set.Add("devicesPerRound");
        if (OverSelection is not null) set.Add("overSelection");
        if (Deadline is not null) set.Add("deadline");
        if (ServerLearningRate is not null) set.Add("serverLearningRate");
        if (Concurrency is not null) set.Add("concurrency");
        if (BufferSize is not null) set.Add("bufferSize");
        if (Alpha is not null) set.Add("alpha");
        if (Staleness is not null) set.Add("staleness");
        if (StalenessA is not null) set.Add("stalenessA");
        if (StalenessB is not null) set.Add("stalenessB");
        if (MaxStaleness is not null) set.Add("maxStaleness");
        var allowed = KeysOf[Kind];
        foreach (string key in set)
            if (!allowed.Contains(key))
                throw new ConfigException(ConfigPath.Child(path, key),
                    $"'{key}' does not apply to {Kind.ToString().ToLowerInvariant()}; its keys are {string.Join(", ", allowed)} (plus kind, name, trainable).");
    }

    /// <summary>Builds the strategy; <paramref name="seed"/> drives its device sampling.</summary>
    public Strategy Create(LocalTraining local, bool ignoreMemory, ulong seed)
    {
        StalenessFunction? staleness = Staleness is { } kind
            ? new StalenessFunction(kind, StalenessA ?? 0.5, StalenessB ?? 4)
            : null;
        return Kind switch
        {
            StrategyKind.Fedavg => new FedAvg(new FedAvgOptions(
                DevicesPerRound ?? 10, OverSelection ?? 1.0, Deadline, ServerLearningRate ?? 1.0, Trainable, ignoreMemory, seed), local),
            StrategyKind.Fedasync => new FedAsync(new FedAsyncOptions(
                Concurrency ?? 20, Alpha ?? 0.6, staleness, MaxStaleness, Trainable, ignoreMemory, seed), local),
            StrategyKind.Fedbuff => new FedBuff(new FedBuffOptions(
                Concurrency ?? 20, BufferSize ?? 10, ServerLearningRate ?? 1.0, staleness, MaxStaleness, Trainable, ignoreMemory, seed), local),
            _ => throw new ConfigException($"Strategy kind {Kind} has no factory."),
        };
    }
}
