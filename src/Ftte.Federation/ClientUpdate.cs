using Ftte.Engine;

namespace Ftte.Federation;

/// <summary>
/// A device's result for one task. <see cref="Delta"/> spans the whole model (trained − base, zero
/// outside <see cref="Ranges"/>) so that partial and nested subsets merge coordinate-wise; only the
/// coordinates in <see cref="Ranges"/> travelled.
/// </summary>
public sealed class ClientUpdate
{
    public required TaskTicket Task { get; init; }
    /// <summary>Trained weights minus <see cref="BaseWeights"/>, model-length.</summary>
    public required float[] Delta { get; init; }
    /// <summary>The global weights of <see cref="TaskTicket.BaseVersion"/>, which the device started from (FedAsync mixes with them).</summary>
    public required ReadOnlyMemory<float> BaseWeights { get; init; }
    /// <summary>Coordinates the device trained (from the task's trainable set).</summary>
    public required WeightRange[] Ranges { get; init; }
    /// <summary>Samples the update was computed on (the weight in FedAvg's n_k/n).</summary>
    public required int Samples { get; init; }
    public double TrainLoss { get; init; }
    public double TrainAccuracy { get; init; }
    /// <summary>Host time the update arrived.</summary>
    public required double ReceivedAt { get; init; }
    /// <summary>τ = global version at arrival − base version.</summary>
    public required int Staleness { get; init; }

    public int DeviceId => Task.DeviceId;

    /// <summary>
    /// Secure aggregation on a real server: the device's masked input, the only form its update reaches the server in;
    /// <see cref="Delta"/> is then empty. Null for updates in the clear (and in simulation, where the member masks later).
    /// </summary>
    public Privacy.SecAgg.MaskedInput? Masked { get; init; }
}

/// <summary>What a strategy did with an update; the host counts each kind.</summary>
public enum UpdateVerdict
{
    /// <summary>Merged into the model or held in a buffer that will be.</summary>
    Accepted,
    /// <summary>Older than the strategy's staleness cap.</summary>
    DroppedStale,
    /// <summary>Arrived after its round closed (synchronous strategies).</summary>
    DroppedLate,
    /// <summary>Refused by a validation check (shape, finiteness, norm).</summary>
    Rejected,
}

/// <summary>Why a task produced no update.</summary>
public enum FailureReason
{
    /// <summary>The device dropped out mid-task.</summary>
    Dropout,
    /// <summary>The device went offline mid-task (availability).</summary>
    WentOffline,
    /// <summary>The strategy cancelled it (round deadline, over-selection surplus).</summary>
    Cancelled,
    /// <summary>The device refused it (its plan does not fit its memory).</summary>
    Refused,
    /// <summary>Deployment: the server refused the update before the strategy saw it (shape, NaN/Inf, norm).</summary>
    InvalidUpdate,
    /// <summary>Deployment: no word from the device within the task's deadline (or the server restarted).</summary>
    Expired,
}

public sealed record TaskFailure(TaskTicket Task, FailureReason Reason, double At, string? Detail = null);
