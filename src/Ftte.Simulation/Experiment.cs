using Ftte.Core.Config;
using Ftte.Data;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Federation;
using Ftte.Federation.Compression;
using Ftte.Reporting;
using Ftte.Federation.Config;
using Ftte.Simulation.Config;
using Ftte.Simulation.Fleet;

namespace Ftte.Simulation;

/// <summary>
/// A configured experiment: the fleet, the partitioned data and the initial model built once from a
/// <see cref="SimulationConfig"/>, then any of its strategies run on exactly that setup.
/// </summary>
public sealed class Experiment
{
    private Experiment(SimulationConfig config, DeviceFleet fleet, DatasetSplits data, Partition partition, Model model, Simulator simulator, string? weightsFingerprint)
    {
        _weightsFingerprint = weightsFingerprint;
        Config = config;
        Fleet = fleet;
        Data = data;
        Partition = partition;
        Model = model;
        Simulator = simulator;
    }

    /// <summary>SHA-256 prefix of the initialWeights file as it was read (null: random initialisation).</summary>
    private readonly string? _weightsFingerprint;

    public SimulationConfig Config { get; }
    public DeviceFleet Fleet { get; }
    public DatasetSplits Data { get; }
    public Partition Partition { get; }
    public Model Model { get; }
    public Simulator Simulator { get; }

    public static Experiment Build(SimulationConfig config, DataOptions? dataOptions = null) => Build(config, dataOptions, null);

    /// <param name="initial">The weights (and their file's fingerprint) another build of the same config already loaded:
    /// a scaling run's fleets start from exactly those, whatever has become of the file since.</param>
    private static Experiment Build(SimulationConfig config, DataOptions? dataOptions, (float[] Weights, string Fingerprint)? initial)
    {
        var fleet = config.Fleet.File is { } file ? FleetFile.Load(file) : FleetPresets.Create(config.Fleet.Preset, config.Fleet.Devices, config.Seed);
        foreach (string tier in config.Compression?.Tiers.Keys ?? Enumerable.Empty<string>())
            if (!fleet.Tiers.Contains(tier))
                throw new ConfigException(ConfigPath.Child(ConfigPath.Child("compression", "tiers"), tier),
                    $"the fleet ({config.Fleet.File ?? config.Fleet.Preset}) has no tier '{tier}'; its tiers are {string.Join(", ", fleet.Tiers)}.");
        var data = DatasetCatalog.Load(config.Data.Dataset, dataOptions);
        var partition = Partitioner.Split(data.Train, new PartitionOptions
        {
            Devices = fleet.Count,
            Scheme = config.Data.Partition,
            DirichletAlpha = config.Data.Alpha,
            ClassesPerDevice = config.Data.ClassesPerDevice,
            QuantitySigma = config.Data.QuantitySigma,
            ValidationFraction = config.Data.ValidationFraction,
            Seed = config.Seed,
        });
        var model = ModelSource.Load(config.Model, config.Seed, new Shape([.. data.Train.SampleShape]), data.Train.ClassCount);
        string? fingerprint = null;
        if (initial is { } given)
        {
            given.Weights.CopyTo(model.Weights);
            fingerprint = given.Fingerprint;
        }
        else if (config.InitialWeights is { } weights)
            fingerprint = InitialWeightsFile.Load(model, weights, "initialWeights", config.Model, config.Data.Dataset);
        var options = new SimulationOptions
        {
            MaxSeconds = config.Run.MaxTime,
            MaxVersions = config.Run.MaxVersions,
            TargetAccuracy = config.Run.TargetAccuracy,
            StopAtTarget = config.Run.StopAtTarget,
            EvalEverySeconds = config.Run.EvalEvery,
            EvalSamples = config.Run.EvalSamples,
            Workers = config.Run.Workers == 0 ? Environment.ProcessorCount : config.Run.Workers,
            Seed = config.Seed,
            IgnoreMemory = config.Run.IgnoreMemory,
        };
        return new Experiment(config, fleet, data, partition, model, new Simulator(fleet.Devices, partition, data.Test, model, options), fingerprint);
    }

    /// <summary>A fresh strategy object for one of the configured strategies.</summary>
    public Strategy CreateStrategy(StrategyConfig strategy) =>
        strategy.Create(Config.Local.ToLocalTraining(), Config.Run.IgnoreMemory, Config.Seed, ProxySet(strategy.ProxySampleCount));

    /// <summary>
    /// The server's proxy set for contribution analysis: a seeded sample of the training split. Devices keep
    /// their partitions; the server is assumed to hold a small public or synthetic sample of the same
    /// distribution (as in Lin et al. 2022's offline contribution analysis).
    /// </summary>
    private DatasetView? ProxySet(int samples) =>
        samples <= 0 ? null : Data.Train.SeededSubset(samples, StrategyConfig.ProxySeed(Config.Seed));

    /// <summary>The codecs a configured strategy's runs upload with; null when the config has no compression (uncompressed float32).</summary>
    public CodecPolicy? CompressionFor(StrategyConfig strategy) => Config.Compression?.PolicyFor(strategy.Label);

    /// <summary>Runs one strategy on this setup; its label replaces the strategy's own name when the config gives one.</summary>
    public RunResult RunOne(StrategyConfig strategy, Action<SimulationProgress>? progress = null)
    {
        var result = Simulator.Run(CreateStrategy(strategy), progress, CompressionFor(strategy));
        return strategy.Name is { } label ? result with { Summary = result.Summary with { Strategy = label } } : result;
    }

    /// <summary>Runs the given strategies (default: all configured) one after the other on the same setup.</summary>
    public Comparison Run(IEnumerable<StrategyConfig>? strategies = null, Action<SimulationProgress>? progress = null) =>
        Combine([.. (strategies ?? Config.Strategies).Select(s => RunOne(s, progress))]);

    /// <summary>
    /// The scaling curve: the configured strategies re-run on fleets of each size (same preset, data, seed). Runs at
    /// this experiment's own size are taken from <paramref name="done"/> instead of being repeated (same inputs,
    /// same numbers). <paramref name="progress"/> gives a progress callback per (size, strategy).
    /// </summary>
    public IReadOnlyList<ScalingPoint> RunScaling(IReadOnlyList<RunResult> done, Func<int, StrategyConfig, Action<SimulationProgress>?>? progress = null)
    {
        if (Config.Scaling is not { } scaling) return [];
        var chosen = Config.Strategies.Where(s => scaling.Strategies.Count == 0 || scaling.Strategies.Contains(s.Label)).ToList();
        var points = new List<ScalingPoint>();
        foreach (int devices in scaling.Devices.Order())
        {
            Experiment sized = devices == Fleet.Count && Config.Fleet.File is null
                ? this
                : Build(Config with { Fleet = Config.Fleet with { Devices = devices }, Scaling = null }, null,
                    _weightsFingerprint is { } f ? (Model.Weights.ToArray(), f) : null);
            foreach (var s in chosen)
            {
                string name = sized.ReportName(s.Label);
                var result = sized == this ? done.FirstOrDefault(r => r.Strategy == name) : null;
                result ??= sized.RunOne(s, progress?.Invoke(devices, s));
                points.Add(Reduction.ScalingPointOf(result, devices));
            }
        }
        return points;
    }

    /// <summary>The runs with this experiment's title and setup, ready for a report.</summary>
    /// <param name="skipped">Strategies that could not run (label, reason), listed in the setup so the report says so.</param>
    public Comparison Combine(IReadOnlyList<RunResult> runs, IReadOnlyList<(string Label, string Reason)>? skipped = null) =>
        new(Title(), [.. Setup(runs), .. (skipped ?? []).Select(x => new KeyValuePair<string, string>($"not run: {x.Label}", x.Reason))], runs)
    {
        // The reference is named by its config label; reductions need it among the runs actually made.
        Reference = Config.Reference is { } label && runs.Any(r => r.Strategy == ReportName(label)) ? ReportName(label) : null,
    };

    /// <summary>The name a configured strategy's runs carry in reports: its label when it has a name, else the strategy's own name.</summary>
    private string ReportName(string label)
    {
        var s = Config.Strategies.First(x => x.Label == label);
        return s.Name ?? CreateStrategy(s).Name;
    }

    private string Title() => $"{Config.Name}: {Fleet.Count} devices, {Config.Data.Dataset}, {Model.Name}";

    private List<KeyValuePair<string, string>> Setup(IReadOnlyList<RunResult> runs) =>
    [
        .. SetupLines(),
        .. Codecs(runs),
    ];

    /// <summary>The update codec, and each strategy among <paramref name="runs"/> whose runs use another.</summary>
    private IEnumerable<KeyValuePair<string, string>> Codecs(IReadOnlyList<RunResult> runs)
    {
        if (Config.Compression is not { } compression)
        {
            yield return new("update codec", "none: Δ as float32 in the engine's parameter format");
            yield break;
        }
        yield return new("update codec", CodecPolicy.Parse(compression.Codec, compression.Tiers).ToString());
        foreach (var s in Config.Strategies)
            if (compression.Strategies.ContainsKey(s.Label) && runs.Any(r => r.Strategy == ReportName(s.Label)))
                yield return new($"update codec of {s.Label}", compression.PolicyFor(s.Label).ToString());
    }

    private List<KeyValuePair<string, string>> SetupLines() =>
    [
        new("model", $"{Model.Name}, {Model.ParameterCount:N0} parameters, " + (Config.InitialWeights is { } weights
            ? $"starting from {weights} (SHA-256 {_weightsFingerprint}…)"
            : $"random initialisation (seed {Config.Seed})")),
        new("dataset", $"{Config.Data.Dataset}: {Data.Train.Count:N0} train / {Simulator.EvaluationSamples:N0} test samples evaluated"),
        new("partition", Config.Data.Partition switch
        {
            PartitionScheme.Dirichlet => $"dirichlet α={Config.Data.Alpha}",
            PartitionScheme.Shards => $"shards, {Config.Data.ClassesPerDevice} classes per device",
            PartitionScheme.QuantitySkew => $"quantity skew σ={Config.Data.QuantitySigma}",
            var s => s.ToString().ToLowerInvariant(),
        } + $", {Config.Data.ValidationFraction:P0} held for on-device validation"),
        new("fleet", (Config.Fleet.File ?? Config.Fleet.Preset) + ": " + string.Join(", ", Fleet.Tiers.Select(t => $"{Fleet.CountInTier(t)} {t}"))),
        new("local training", Config.Local.ToLocalTraining().ToString()),
        new("virtual time", Reporting.HumanFormat.Duration(Config.Run.MaxTime)),
        new("target accuracy", $"{Config.Run.TargetAccuracy:P0}"),
        new("memory check", Config.Run.IgnoreMemory ? "off (every device runs every task)" : "on"),
        new("seed", Config.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];
}
