using Ftte.Data;
using Ftte.Federation.Config;

namespace Ftte.Simulation.Config;

/// <summary>Ready-made experiments; flags and --set override any knob.</summary>
public static class SimulationPresets
{
    public static IReadOnlyList<string> Names { get; } = ["quick", "stragglers-500", "paper-fmnist", "paper-mnist", "paper-fmnist-codecs", "paper-fmnist-private"];

    public static SimulationConfig Get(string name) => name switch
    {
        "quick" => Quick(),
        "stragglers-500" => Stragglers500(),
        "paper-fmnist" => Paper("paper-fmnist", "fashion-mnist", targetAccuracy: 0.75),
        "paper-mnist" => Paper("paper-mnist", "mnist", targetAccuracy: 0.95),
        "paper-fmnist-codecs" => Codecs(),
        "paper-fmnist-private" => Private(),
        _ => throw new ArgumentException($"Unknown preset '{name}'; expected one of {string.Join(", ", Names)}."),
    };

    private static readonly StrategyConfig[] Baselines =
    [
        // FedAvg waits for C of ⌈1.3C⌉ (over-selection, Bonawitz et al. 2019) or a deadline.
        new() { Kind = StrategyKind.Fedavg, DevicesPerRound = 10, OverSelection = 1.3, Deadline = 600 },
        new() { Kind = StrategyKind.Fedasync, Concurrency = 20, Alpha = 0.6 },
        new() { Kind = StrategyKind.Fedbuff, Concurrency = 20, BufferSize = 10 },
    ];

    /// <summary>100 devices of four tiers, MNIST with Dirichlet(0.5) label skew, LeNet; FTTE against the three baselines: a few minutes on 2 cores.</summary>
    public static SimulationConfig Quick() => new()
    {
        Name = "quick",
        Model = "lenet",
        Data = new DataConfig { Dataset = "mnist", Partition = PartitionScheme.Dirichlet, Alpha = 0.5 },
        Fleet = new FleetConfig { Preset = "tiers4", Devices = 100 },
        Local = new LocalConfig { Epochs = 1, Batch = 16, LearningRate = 0.05 },
        // Phones finish a LeNet task in seconds, so three virtual minutes are hundreds of tasks: about a
        // minute of real training per strategy on 2 cores.
        Run = new RunConfig { MaxTime = 180, TargetAccuracy = 0.95, EvalEvery = 10, EvalSamples = 2000 },
        Strategies = [new() { Kind = StrategyKind.Ftte, Name = "FTTE", Concurrency = 20, BufferSize = 10 }, .. Baselines],
        Reference = "FTTE",
    };

    /// <summary>The FTTE paper's hard regime: 500 devices, 90% stragglers, Fashion-MNIST, Dirichlet(0.5), LeNet.</summary>
    public static SimulationConfig Stragglers500() => new()
    {
        Name = "stragglers-500",
        Model = "lenet",
        Data = new DataConfig { Dataset = "fashion-mnist", Partition = PartitionScheme.Dirichlet, Alpha = 0.5 },
        Fleet = new FleetConfig { Preset = "stragglers-90", Devices = 500 },
        Local = new LocalConfig { Epochs = 1, Batch = 16, LearningRate = 0.05 },
        Run = new RunConfig { MaxTime = 4 * 3600, TargetAccuracy = 0.75, EvalEvery = 120, EvalSamples = 2000 },
        Strategies = Baselines,
    };

    /// <summary>
    /// The FTTE paper's experiment (Tenison et al., arXiv 2510.03165): 500 devices, 90% stragglers, LeNet,
    /// Dirichlet(0.5), one seed; FTTE against synchronous FedAvg and FedBuff, plus FTTE's ablations at the same
    /// budget: aggregation weight (none, age only) and the trainable-set choice (last-k, bias-only, random). The
    /// baselines are as published; only FTTE's own method is tuned, never the presets to the goal.
    /// </summary>
    public static SimulationConfig Paper(string name, string dataset, double targetAccuracy) => new()
    {
        Name = name,
        Model = "lenet",
        Data = new DataConfig { Dataset = dataset, Partition = PartitionScheme.Dirichlet, Alpha = 0.5 },
        Fleet = new FleetConfig { Preset = "stragglers-90", Devices = 500 },
        Local = new LocalConfig { Epochs = 1, Batch = 16, LearningRate = 0.05 },
        // Each run stops at the target (the headline is time to target) or after 4 virtual hours; 5,000 server steps
        // cap runs that step hundreds of times a virtual minute and may never reach the target (an ablation), since
        // every step is real training. Final accuracy at a common horizon: run with --set run.stopAtTarget=false.
        Run = new RunConfig { MaxTime = 4 * 3600, MaxVersions = 5000, StopAtTarget = true, TargetAccuracy = targetAccuracy, EvalEvery = 20, EvalSamples = 2000 },
        Reference = "FTTE",
        Scaling = new ScalingConfig { Devices = [100, 250, 500, 1000], Strategies = ["FTTE", "FedAvg", "FedBuff", "FTTE, nested subsets"] },
        Strategies =
        [
            new() { Kind = StrategyKind.Ftte, Name = "FTTE", Concurrency = 20, BufferSize = 10 },
            new() { Kind = StrategyKind.Fedavg, Name = "FedAvg", DevicesPerRound = 20, OverSelection = 1.3 },
            new() { Kind = StrategyKind.Fedbuff, Name = "FedBuff", Concurrency = 20, BufferSize = 10 },
            new() { Kind = StrategyKind.Ftte, Name = "FTTE, no weighting", Concurrency = 20, BufferSize = 10, Weighting = "none" },
            new() { Kind = StrategyKind.Ftte, Name = "FTTE, age weighting only", Concurrency = 20, BufferSize = 10, Weighting = "age" },
            new() { Kind = StrategyKind.Ftte, Name = "FTTE, last-k layers", Concurrency = 20, BufferSize = 10, Selection = "last-k" },
            new() { Kind = StrategyKind.Ftte, Name = "FTTE, bias only", Concurrency = 20, BufferSize = 10, Selection = "bias" },
            new() { Kind = StrategyKind.Ftte, Name = "FTTE, random subset", Concurrency = 20, BufferSize = 10, Selection = "random" },
            // Beyond the paper: devices with more memory train nested, larger subsets that contain w*.
            new() { Kind = StrategyKind.Ftte, Name = "FTTE, nested subsets", Concurrency = 20, BufferSize = 10, NestedBudgets = ["q0.5", "q0.9"] },
            // FTTE checks its choice from step 10 on by default (StrategyConfig.DefaultReselectAfter); this row keeps the first choice.
            new() { Kind = StrategyKind.Ftte, Name = "FTTE, first choice kept", Concurrency = 20, BufferSize = 10, ReselectAfter = 0 },
        ],
    };

    /// <summary>The update codecs compared, in the order of <see cref="Codecs"/>'s runs.</summary>
    public static IReadOnlyList<string> ComparedCodecs { get; } = ["float32", "float16", "q8", "q4", "q2", "topk:0.01"];

    /// <summary>
    /// paper-fmnist's FTTE (same fleet, data, seed, target and stop rules) once per update codec: each codec is a strategy
    /// entry labelled "FTTE, codec" and mapped to its codec under compression.strategies, so the comparison report shows
    /// accuracy, time to target and bytes per codec. Evaluations every 5 virtual seconds (paper-fmnist: 20) resolve the
    /// time to target finely enough to tell codecs apart; evaluation costs no virtual time, so training is unchanged.
    /// </summary>
    public static SimulationConfig Codecs()
    {
        var paper = Paper("paper-fmnist", "fashion-mnist", targetAccuracy: 0.75);
        var ftte = paper.Strategies.Single(s => s.Label == "FTTE");
        return paper with
        {
            Name = "paper-fmnist-codecs",
            Run = paper.Run with { EvalEvery = 5 },
            Scaling = null,
            Strategies = [.. ComparedCodecs.Select(c => ftte with { Name = $"FTTE, {c}" })],
            Reference = "FTTE, float32",
            Compression = new CompressionConfig
            {
                Codec = "float32",
                Strategies = ComparedCodecs.ToDictionary(c => $"FTTE, {c}", c => c),
            },
        };
    }

    /// <summary>
    /// paper-fmnist's FTTE plain, with 8-bit updates, and with 8-bit updates under client-level DP at ε ≤ 8 (δ = 1e-5).
    /// z = 0.77 is what `ftte privacy epsilon --q 0.02 --steps 1000 --delta 1e-5 --sigma-for-epsilon 8` gives for
    /// q = K/N = 10/500 over 1,000 steps; C adapts to the median update norm (Andrew et al. 2021).
    /// The fourth strategy caps participation instead of assuming sampling: each device joins at most 20 released steps
    /// (K·T/N = 10·1,000/500, what Poisson sampling at q = 0.02 over 1,000 steps gives a device on average), so with
    /// z = 2.86 (`ftte privacy epsilon --q 1 --steps 20 --delta 1e-5 --sigma-for-epsilon 8` gives 2.8517) every device
    /// has ε ≤ 8 at δ = 1e-5 with no sampling assumption.
    /// The last two add secure aggregation (SecAgg+ groups, see SecureGroups): alone, and with distributed DP and 8-bit values.
    /// </summary>
    public static SimulationConfig Private()
    {
        var paper = Paper("paper-fmnist", "fashion-mnist", targetAccuracy: 0.75);
        var ftte = paper.Strategies.Single(s => s.Label == "FTTE");
        const string q8 = "FTTE + q8", dp = "FTTE + DP(ε≤8) + q8", capped = "FTTE + DP(cap 20, ε≤8 per device) + q8";
        return paper with
        {
            Name = "paper-fmnist-private",
            Scaling = null,
            Strategies =
            [
                ftte,
                ftte with { Name = q8 },
                ftte with { Name = dp, Privacy = new PrivacyConfig { NoiseMultiplier = 0.77, ClipNorm = 1.0, MaxEpsilon = 8, AdaptiveQuantile = 0.5 } },
                ftte with { Name = capped, Privacy = new PrivacyConfig { NoiseMultiplier = 2.86, ClipNorm = 1.0, MaxEpsilon = 8, MaxParticipations = 20 } },
                // Secure aggregation: groups of G = 16 (K = 10, 10% expected dropouts), values in fixed point mod 2^32.
                ftte with { Name = "FTTE + SecAgg", SecureAggregation = new SecureAggregationConfig() },
                // SecAgg + distributed DP + 8-bit values in a 2^16 ring. A step is a group of up to G = 16, so q = 16/500 and
                // z = 0.95 is `ftte privacy epsilon --q 0.032 --steps 1000 --delta 1e-5 --sigma-for-epsilon 8`; C is fixed
                // (adaptive clipping needs per-device bits the masks hide) at 0.4, near the 0.378 that DP + q8's adaptive clip settled at in session 4 (0.404 now; its run notes).
                ftte with
                {
                    Name = "FTTE + SecAgg + DP(ε≤8) + 8-bit",
                    Privacy = new PrivacyConfig { NoiseMultiplier = 0.95, ClipNorm = 0.4, MaxEpsilon = 8, Noise = "distributed" },
                    SecureAggregation = new SecureAggregationConfig { RingBits = 16, ValueBits = 8 },
                },
            ],
            Reference = "FTTE",
            Compression = new CompressionConfig { Codec = "float32", Strategies = new Dictionary<string, string> { [q8] = "q8", [dp] = "q8", [capped] = "q8" } },
        };
    }
}
