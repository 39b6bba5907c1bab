using Ftte.Core;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Privacy;
using Ftte.Federation.Privacy.SecAgg;

namespace Ftte.Federation.Strategies;

/// <param name="Concurrency">M: devices training at once.</param>
/// <param name="BufferSize">K: updates per server step.</param>
/// <param name="ServerLearningRate">η_g.</param>
/// <param name="MaxStaleness">Updates older than this many versions are dropped; null keeps all.</param>
/// <param name="Privacy">Client-level DP at each server step (its BufferSize is taken from K); null: none.</param>
/// <param name="SecureAggregation">Steps from SecAgg+ groups (<see cref="SecureGroups"/>); null: updates in the clear.</param>
public sealed record FedBuffOptions(int Concurrency = 20, int BufferSize = 10, double ServerLearningRate = 1.0,
    StalenessFunction? Staleness = null, int? MaxStaleness = null, string Trainable = "all", bool IgnoreMemory = false, ulong Seed = 1,
    ClientDpOptions? Privacy = null, SecureAggregationOptions? SecureAggregation = null);

/// <summary>
/// FedBuff (Nguyen et al. 2022): M devices train concurrently; each arriving delta is added to a buffer
/// weighted by s(τ) (default 1/√(1+τ)); when K are in, x ← x + η_g·(Σ s(τ_i)Δ_i)/K and the version moves on.
/// Each finished task is immediately replaced, so the server never waits for the slowest device.
/// With <see cref="FedBuffOptions.Privacy"/>, the step is DP-FedAvg's (McMahan et al. 2018): each update clipped to C,
/// x ← x + η_g·(Σ s(τ_i)·clip(Δ_i) + N(0, z²C²))/K, accounted at q = K / eligible devices (<see cref="PrivateStep"/>).
/// </summary>
/// <param name="noise">DP noise: the OS's cryptographic source in deployment; null: seeded from the options' seed (simulation).</param>
public sealed class FedBuff(FedBuffOptions options, LocalTraining local, NoiseSource? noise = null)
    : StrategyBase(local, options.Trainable, options.IgnoreMemory, options.Seed)
{
    private PrivateStep? _private;
    private SecureGroups? _secure;

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

    protected override int? TargetInFlight => StopReason is null ? Options.Concurrency : 0;

    public override PrivacySpent? PrivacySpent => _private?.Spent;
    public override PrivacySpent? PrivacyPerDevice => _private?.UnsampledBound();
    public override IReadOnlyList<string> Notes => [.. FtteStrategy.PrivacyNote(_private), .. (_secure is null ? [] : new[] { _secure.Describe() })];
    public override SecureGroups? SecureAggregation => _secure;

    protected override bool MayDispatch(int deviceId) => _secure?.CanJoin(deviceId, 0) ?? true;
    protected override void OnDispatched(IFederationHost host, TaskTicket ticket) => _secure?.Assign(host, ticket, 0);

    public override void OnTaskFailed(IFederationHost host, TaskFailure failure)
    {
        _secure?.Failed(host, failure.Task.TaskId);
        base.OnTaskFailed(host, failure);
    }

    public override void OnTimer(IFederationHost host, int tag)
    {
        if (_secure?.OnTimer(host, tag) != true) return;
        StopReason ??= _secure.Exhausted;
        Refill(host);
    }
    public override string? SaveState() => _private?.SaveState();
    public override void RestoreState(string state)
    {
        _private?.RestoreState(state);
        StopReason ??= _private?.Exhausted;
    }

    protected override void OnStart(IFederationHost host)
    {
        if (Options.Privacy is { } dp)
        {
            PrivateStep.RequireEnoughDevices(Name, Options.BufferSize, Participation.EligibleDevices);
            _private = new PrivateStep(host.Global.Model.ParameterCount, SecureGroups.StepOptions(dp, Options.SecureAggregation, Options.BufferSize),
                noise ?? NoiseSource.Seeded(Rng.Mix(Options.Seed, 0xD1FF)), Spec.Trainable.Ranges(host.Global.Model), Participation);
        }
        if (Options.SecureAggregation is { } secure)
        {
            UseMaskedUploads(new MaskedUpload(secure.RingBits / 8));
            // FedBuff's s(τ) becomes the device-side age weight at the planned version.
            _secure = new SecureGroups(secure, Options.BufferSize, Spec.Trainable.Ranges(host.Global.Model), Staleness, _private,
                Rng.Mix(Options.Seed, 0x5A5A), _ => { }, host.SecureTransport) { ServerLearningRate = Options.ServerLearningRate };
        }
        Refill(host);
    }

    public override UpdateVerdict OnUpdate(IFederationHost host, ClientUpdate update)
    {
        var verdict = UpdateVerdict.DroppedStale;
        if (StopReason is not null) return UpdateVerdict.DroppedLate;
        if (_secure is not null)
        {
            if (Options.MaxStaleness is { } limit && update.Staleness > limit) _secure.Failed(host, update.Task.TaskId);
            else verdict = _secure.Offer(host, update);
            StopReason ??= _secure.Exhausted;
        }
        else if (_private is not null)
        {
            if (!_private.Admits(update.DeviceId)) verdict = UpdateVerdict.DroppedLate; // past its participation cap
            else if (Options.MaxStaleness is not { } limit || update.Staleness <= limit)
            {
                if (_private.Add(update, Staleness.Weight(update.Staleness)) && _private.TryRelease(host.Global.Weights, Options.ServerLearningRate))
                    host.Commit(Options.BufferSize);
                StopReason = _private.Exhausted;
                verdict = UpdateVerdict.Accepted;
            }
        }
        else if (Options.MaxStaleness is not { } cap || update.Staleness <= cap)
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
