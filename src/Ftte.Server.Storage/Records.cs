namespace Ftte.Server.Storage;

/// <summary>The one run a database holds. Times come back in UTC (the instant is kept, not the offset).</summary>
public sealed record StoredRun(string RunId, string ConfigJson, byte[] SecretHash, DateTimeOffset CreatedAt);

/// <summary>An enrolled device; <see cref="Id"/> is dense (0, 1, 2, … in enrolment order).</summary>
public sealed record StoredDevice(int Id, string Name, string Tier, long MemoryBytes, double FlopsPerSecond,
    double DownlinkBitsPerSecond, double UplinkBitsPerSecond, double LatencySeconds, int TrainSamples,
    byte[] TokenHash, DateTimeOffset TokenExpires, DateTimeOffset EnrolledAt, DateTimeOffset LastSeen);

/// <summary>
/// An accepted update the strategy has buffered but not applied yet. <see cref="Delta"/> is model-length
/// (zeros outside the trained coordinates); it is stored as its nonzero runs and round-trips bitwise.
/// </summary>
public sealed record PendingUpdate(long TaskId, int DeviceId, int BaseVersion, int Staleness, int Samples,
    double TrainLoss, double TrainAccuracy, double ReceivedAt, string Trainable, float[] Delta);

/// <summary>The RMS value per trained coordinate of an accepted update, with its trainable set (the outlier test's history).</summary>
public sealed record UpdateRms(string Trainable, double Value);

public enum TaskState { Dispatched, Delivered, Accepted, DroppedStale, DroppedLate, Rejected, Failed, Cancelled, Expired }

public sealed record StoredTask(long TaskId, int DeviceId, int BaseVersion, string Trainable, string SpecJson,
    TaskState State, DateTimeOffset DispatchedAt, string? Detail = null);

public sealed record StoredMetric(double Time, int Version, double TestAccuracy, double TestLoss,
    long UpdatesAccepted, long UpdatesRefused, long BytesDown, long BytesUp, int DevicesOnline)
{
    /// <summary>Client-level DP spent up to this version (ε at the run's δ); NaN without DP.</summary>
    public double Epsilon { get; init; } = double.NaN;
}

/// <summary>A store-level refusal or failure whose message is meant for the operator as is.</summary>
public sealed class StoreException : Exception
{
    public StoreException(string message) : base(message) { }
    public StoreException(string message, Exception inner) : base(message, inner) { }
}
