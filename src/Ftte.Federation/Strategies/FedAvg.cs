namespace Ftte.Federation.Strategies;

/// <summary>Synchronous FedAvg's knobs.</summary>
/// <param name="DevicesPerRound">C: updates a round waits for.</param>
/// <param name="OverSelection">Dispatch ⌈C·factor⌉ devices and close the round at the first C updates (Bonawitz et al. 2019); 1 = none.</param>
/// <param name="DeadlineSeconds">Close the round after this long with whatever arrived; null waits for all.</param>
/// <param name="ServerLearningRate">η in x ← x + η Σ (n_k/n) Δ_k; 1 is plain FedAvg.</param>
public sealed record FedAvgOptions(int DevicesPerRound = 10, double OverSelection = 1.0, double? DeadlineSeconds = null,
    double ServerLearningRate = 1.0, string Trainable = "all", bool IgnoreMemory = false, ulong Seed = 1);

/// <summary>
/// FedAvg (McMahan et al. 2017): each round samples C devices, each trains E local epochs from the current
/// model, and the server averages the deltas weighted by sample counts: x ← x + η Σ_k (n_k/n) Δ_k.
/// A round ends when C updates are in, every dispatched task has ended, or the deadline passes.
/// </summary>
public sealed class FedAvg(FedAvgOptions options, LocalTraining local)
    : StrategyBase(local, options.Trainable, options.IgnoreMemory, options.Seed)
{
    private readonly HashSet<long> _pending = [];
    private int _round;
    private int _target;
    private bool _waiting;

    public FedAvgOptions Options { get; } = Validate(options);
    public override string Name => $"FedAvg(C={Options.DevicesPerRound})";

    private static FedAvgOptions Validate(FedAvgOptions o)
    {
        if (o.DevicesPerRound < 1) throw new ArgumentOutOfRangeException(nameof(o), $"FedAvg devicesPerRound must be ≥ 1; got {o.DevicesPerRound}.");
        if (!(o.OverSelection >= 1)) throw new ArgumentOutOfRangeException(nameof(o), $"FedAvg overSelection must be ≥ 1 (1.3 dispatches 30% extra); got {o.OverSelection}.");
        if (o.DeadlineSeconds is <= 0) throw new ArgumentOutOfRangeException(nameof(o), $"FedAvg deadlineSeconds must be > 0 or absent; got {o.DeadlineSeconds}.");
        return o;
    }

    protected override void OnStart(IFederationHost host) => StartRound(host);

    private void StartRound(IFederationHost host)
    {
        int dispatch = (int)Math.Ceiling(Options.DevicesPerRound * Options.OverSelection - 1e-9);
        var chosen = Sampler.Sample(host, Participation, dispatch);
        if (chosen.Count == 0)
        {
            // Nobody idle and eligible is online: wait for the next device to come online.
            _waiting = true;
            host.WaitForDevices();
            return;
        }
        _waiting = false;
        _round++;
        _target = Math.Min(Options.DevicesPerRound, chosen.Count);
        foreach (int d in chosen) _pending.Add(host.Dispatch(d, Spec).TaskId);
        if (Options.DeadlineSeconds is { } deadline) host.SetTimer(deadline, _round);
    }

    public override void OnDevicesAvailable(IFederationHost host)
    {
        if (_waiting) StartRound(host);
    }

    public override UpdateVerdict OnUpdate(IFederationHost host, ClientUpdate update)
    {
        if (!_pending.Remove(update.Task.TaskId)) return UpdateVerdict.DroppedLate;
        Accumulator.Add(update, update.Samples, update.Samples);
        if (Accumulator.Count >= _target || _pending.Count == 0) CloseRound(host);
        return UpdateVerdict.Accepted;
    }

    /// <summary>Updates of a round interrupted by a server restart count towards the current round.</summary>
    public override void Restore(IFederationHost host, IReadOnlyList<ClientUpdate> accepted)
    {
        foreach (var update in accepted) Accumulator.Add(update, update.Samples, update.Samples);
        if (!_waiting && _target > 0 && Accumulator.Count >= _target) CloseRound(host);
    }

    public override void OnTaskFailed(IFederationHost host, TaskFailure failure)
    {
        if (_pending.Remove(failure.Task.TaskId) && _pending.Count == 0) CloseRound(host);
    }

    public override void OnTimer(IFederationHost host, int tag)
    {
        if (tag == _round && !_waiting) CloseRound(host);
    }

    private void CloseRound(IFederationHost host)
    {
        // Surplus of over-selection and stragglers past the deadline: their work is discarded.
        foreach (long task in _pending) host.Cancel(task);
        _pending.Clear();
        if (Accumulator.Count > 0)
        {
            Accumulator.ApplyTo(host.Global.Weights, Options.ServerLearningRate);
            int merged = Accumulator.Count;
            Accumulator.Clear();
            host.Commit(merged);
        }
        StartRound(host);
    }
}
