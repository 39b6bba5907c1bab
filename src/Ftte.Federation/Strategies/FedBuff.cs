using Ftte.Federation.Aggregation;

namespace Ftte.Federation.Strategies;

/// <param name="Concurrency">M: devices training at once.</param>
/// <param name="BufferSize">K: updates per server step.</param>
/// <param name="ServerLearningRate">η_g.</param>
/// <param name="MaxStaleness">Updates older than this many versions are dropped; null keeps all.</param>
public sealed record FedBuffOptions(int Concurrency = 20, int BufferSize = 10, double ServerLearningRate = 1.0,
    StalenessFunction? Staleness = null, int? MaxStaleness = null, string Trainable = "all", bool IgnoreMemory = false, ulong Seed = 1);

/// <summary>
/// FedBuff (Nguyen et al. 2022): M devices train concurrently; each arriving delta is added to a buffer
/// weighted by s(τ) (default 1/√(1+τ)); when K are in, x ← x + η_g·(Σ s(τ_i)Δ_i)/K and the version moves on.
/// Each finished task is immediately replaced, so the server never waits for the slowest device.
/// </summary>
public sealed class FedBuff(FedBuffOptions options, LocalTraining local)
    : StrategyBase(local, options.Trainable, options.IgnoreMemory, options.Seed)
{
    public FedBuffOptions Options { get; } = Validate(options);
    public StalenessFunction Staleness { get; } = options.Staleness ?? StalenessFunction.InverseSqrt;
    public override string Name => $"FedBuff(M={Options.Concurrency},K={Options.BufferSize})";

    private static FedBuffOptions Validate(FedBuffOptions o)
    {
        if (o.Concurrency < 1) throw new ArgumentOutOfRangeException(nameof(o), $"FedBuff concurrency must be ≥ 1; got {o.Concurrency}.");
        if (o.BufferSize < 1) throw new ArgumentOutOfRangeException(nameof(o), $"FedBuff bufferSize must be ≥ 1; got {o.BufferSize}.");
        if (o.MaxStaleness is < 0) throw new ArgumentOutOfRangeException(nameof(o), $"FedBuff maxStaleness must be ≥ 0 or absent; got {o.MaxStaleness}.");
        return o;
    }

    protected override int? TargetInFlight => Options.Concurrency;
    protected override void OnStart(IFederationHost host) => Refill(host);

    public override UpdateVerdict OnUpdate(IFederationHost host, ClientUpdate update)
    {
        var verdict = UpdateVerdict.DroppedStale;
        if (Options.MaxStaleness is not { } cap || update.Staleness <= cap)
        {
            Accumulator.Add(update, Staleness.Weight(update.Staleness), 1.0);
            if (Accumulator.Count == Options.BufferSize)
            {
                Accumulator.ApplyTo(host.Global.Weights, Options.ServerLearningRate);
                Accumulator.Clear();
                host.Commit(Options.BufferSize);
            }
            verdict = UpdateVerdict.Accepted;
        }
        Refill(host);
        return verdict;
    }
}
