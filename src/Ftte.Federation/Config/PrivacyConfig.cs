using Ftte.Core.Config;
using Ftte.Federation.Privacy;

namespace Ftte.Federation.Config;

/// <summary>Client-level differential privacy of a buffered strategy (fedbuff, ftte): DP-FedAvg at every server step.</summary>
public sealed record PrivacyConfig
{
    [ConfigDoc("z: noise multiplier of a server step (N(0, z²C²) on the sum of K clipped updates); pick it with `ftte privacy epsilon --sigma-for-epsilon`.")]
    [ConfigRange(0.01, 1000)]
    public double NoiseMultiplier { get; init; } = 1.0;
    [ConfigDoc("C: the L2 norm each update is clipped to (the starting value with adaptiveQuantile).")]
    [ConfigRange(1e-9)]
    public double ClipNorm { get; init; } = 1.0;
    [ConfigDoc("ε_max: the run stops before a step would take ε above it (with maxParticipations, the per-device ε without sampling; else the sampled ε); absent: no limit (ε is still reported).")]
    [ConfigRange(1e-6)]
    public double? MaxEpsilon { get; init; }
    [ConfigDoc("δ at which ε is reported and the budget kept.")]
    [ConfigRange(1e-12, 0.1)]
    public double Delta { get; init; } = 1e-5;
    [ConfigDoc("Participation cap: a device joins at most this many released steps, then gets no more tasks, so every device's ε is at most that of this many unsampled Gaussian steps at z (`ftte privacy epsilon --q 1 --steps N`); maxEpsilon then bounds that per-device figure. Absent: no cap.")]
    [ConfigRange(1)]
    public int? MaxParticipations { get; init; }
    [ConfigDoc("Adapt C towards this quantile of update norms (Andrew et al. 2021); absent: C stays fixed.")]
    [ConfigRange(0.01, 0.99)]
    public double? AdaptiveQuantile { get; init; }

    [ConfigDoc("Where the noise is added: central (the server noises the sum) or distributed (each device adds its share N(0, z²C²/K); meaningful with secureAggregation).")]
    [AllowedValues("central", "distributed")]
    public string Noise { get; init; } = "central";

    public ClientDpOptions ToOptions(int bufferSize) => new()
    {
        Placement = Noise == "distributed" ? DpNoisePlacement.Distributed : DpNoisePlacement.Central,
        NoiseMultiplier = NoiseMultiplier,
        ClipNorm = ClipNorm,
        BufferSize = bufferSize,
        MaxEpsilon = MaxEpsilon,
        MaxParticipations = MaxParticipations,
        Delta = Delta,
        AdaptiveClipping = AdaptiveQuantile is { } quantile ? new AdaptiveClippingOptions(TargetQuantile: quantile) : null,
    };
}
