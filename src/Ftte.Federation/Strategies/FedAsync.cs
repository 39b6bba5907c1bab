using Ftte.Federation.Aggregation;

namespace Ftte.Federation.Strategies;

/// <param name="Concurrency">Devices training at once.</param>
/// <param name="Alpha">α, the base mixing weight.</param>
public sealed record FedAsyncOptions(int Concurrency = 20, double Alpha = 0.6, StalenessFunction? Staleness = null,
    int? MaxStaleness = null, string Trainable = "all", bool IgnoreMemory = false, ulong Seed = 1);

/// <summary>
/// FedAsync (Xie et al. 2019): every arriving model is mixed in at once, x ← (1−α_t)x + α_t·x_client with
/// α_t = α·s(τ) and x_client = base + Δ, the device's trained weights. Only the coordinates the device
/// trained are mixed (elsewhere x_client equals an old base and would drag x backwards).
/// </summary>
public sealed class FedAsync(FedAsyncOptions options, LocalTraining local)
    : StrategyBase(local, options.Trainable, options.IgnoreMemory, options.Seed)
{
    public FedAsyncOptions Options { get; } = Validate(options);
    public StalenessFunction Staleness { get; } = options.Staleness ?? StalenessFunction.Polynomial(0.5);
    public override string Name => $"FedAsync(a={Options.Alpha},{Staleness})";

    private static FedAsyncOptions Validate(FedAsyncOptions o)
    {
        if (o.Concurrency < 1) throw new ArgumentOutOfRangeException(nameof(o), $"FedAsync concurrency must be ≥ 1; got {o.Concurrency}.");
        if (!(o.Alpha > 0 && o.Alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(o), $"FedAsync alpha must be in (0, 1]; got {o.Alpha}.");
        return o;
    }

    protected override int? TargetInFlight => Options.Concurrency;
    protected override void OnStart(IFederationHost host) => Refill(host);

    public override UpdateVerdict OnUpdate(IFederationHost host, ClientUpdate update)
    {
        var verdict = UpdateVerdict.DroppedStale;
        if (Options.MaxStaleness is not { } cap || update.Staleness <= cap)
        {
            float a = (float)(Options.Alpha * Staleness.Weight(update.Staleness));
            var x = host.Global.Weights;
            var baseWeights = update.BaseWeights.Span;
            var delta = update.Delta;
            foreach (var r in update.Ranges)
                for (int j = r.Offset; j < r.End; j++)
                    x[j] = (1 - a) * x[j] + a * (baseWeights[j] + delta[j]);
            host.Commit(1);
            verdict = UpdateVerdict.Accepted;
        }
        Refill(host);
        return verdict;
    }
}
