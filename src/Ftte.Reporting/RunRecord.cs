namespace Ftte.Reporting;

/// <summary>
/// One evaluation point of a run. Counters are cumulative since the start of the run; times are in
/// seconds of the run's clock (virtual in simulation).
/// </summary>
public sealed record MetricsPoint
{
    public required double Time { get; init; }
    /// <summary>Global model version evaluated.</summary>
    public required int Version { get; init; }
    public required double TestAccuracy { get; init; }
    public required double TestLoss { get; init; }
    public required long UpdatesReceived { get; init; }
    public required long UpdatesAccepted { get; init; }
    /// <summary>Updates refused or arriving after their round closed (not stale).</summary>
    public required long UpdatesDropped { get; init; }
    /// <summary>Updates dropped for exceeding the staleness cap.</summary>
    public required long UpdatesStale { get; init; }
    /// <summary>Tasks that never delivered (dropout, offline, cancelled, refused).</summary>
    public required long TasksFailed { get; init; }
    public required long BytesDown { get; init; }
    public required long BytesUp { get; init; }
    /// <summary>Devices with at least one accepted update so far.</summary>
    public required int DevicesContributed { get; init; }
    /// <summary>Share of all training samples held by those devices.</summary>
    public required double DataShareContributed { get; init; }
    /// <summary>Sum over devices of time spent on tasks (download, train, upload).</summary>
    public required double DeviceBusySeconds { get; init; }
    /// <summary>Sum over online devices of time online without a task.</summary>
    public required double DeviceIdleSeconds { get; init; }
    /// <summary>Accepted updates by staleness τ: index τ, the last bucket holds τ ≥ its index.</summary>
    public required long[] StalenessHistogram { get; init; }
    /// <summary>Host wall-clock seconds since the run started.</summary>
    public required double WallSeconds { get; init; }
    /// <summary>Client-level DP spent up to this point (ε at the run's δ); NaN for a run without DP.</summary>
    public double Epsilon { get; init; } = double.NaN;
}

/// <summary>Per device tier: size of the tier and the largest planned training peak of its tasks.</summary>
public sealed record TierStats(string Tier, int Devices, long MemoryBytesMin, long PeakPlannedBytes, int DevicesContributed, long Tasks, double BusySeconds);

/// <summary>The figures a run is judged by.</summary>
public sealed record RunSummary
{
    public required string Strategy { get; init; }
    public required double TargetAccuracy { get; init; }
    /// <summary>First evaluation time at or above the target; null when never reached.</summary>
    public required double? TimeToTarget { get; init; }
    public required double FinalAccuracy { get; init; }
    public required double BestAccuracy { get; init; }
    public required double EndTime { get; init; }
    public required int FinalVersion { get; init; }
    public required long BytesDown { get; init; }
    public required long BytesUp { get; init; }
    /// <summary>Mean bytes per completed task, down and up (first-contact downloads included).</summary>
    public required double BytesDownPerTask { get; init; }
    public required double BytesUpPerTask { get; init; }
    /// <summary>
    /// Of <see cref="BytesDown"/>, what first contacts cost: the frozen part of the model, downloaded once per device
    /// and cached (partial broadcast). 0 when every task carries the full model.
    /// </summary>
    public long BytesDownFirstContact { get; init; }
    /// <summary>Largest planned peak training memory of any task.</summary>
    public required long PeakPlannedBytes { get; init; }
    public required long Tasks { get; init; }
    public required long UpdatesAccepted { get; init; }
    public required long UpdatesDropped { get; init; }
    public required long UpdatesStale { get; init; }
    public required long TasksFailed { get; init; }
    public required int Devices { get; init; }
    /// <summary>Devices left out because the strategy's tasks do not fit their memory.</summary>
    public required int DevicesExcluded { get; init; }
    public required double DataShareExcluded { get; init; }
    public required int DevicesContributed { get; init; }
    public required double DataShareContributed { get; init; }
    public required IReadOnlyList<TierStats> Tiers { get; init; }
    /// <summary>Host wall-clock seconds of the run, and of it the share spent outside engine training and evaluation.</summary>
    public required double WallSeconds { get; init; }
    public required double OverheadShare { get; init; }
    /// <summary>Free-form notes (e.g. "memory check off").</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
    /// <summary>Client-level DP spent by the end of the run (ε at <see cref="PrivacyDelta"/>); null without DP.</summary>
    public double? Epsilon { get; init; }
    public double? PrivacyDelta { get; init; }
    /// <summary>ε at <see cref="PrivacyDelta"/> without the sampling assumption, for the device that joined the most steps; null without DP.</summary>
    public double? EpsilonPerDevice { get; init; }
}

/// <summary>A finished run: its points in time order and its summary.</summary>
public sealed record RunResult(RunSummary Summary, IReadOnlyList<MetricsPoint> Points)
{
    public string Strategy => Summary.Strategy;
}

/// <summary>Several strategies on the same fleet, data and seed, for one report.</summary>
/// <param name="Title">e.g. "quick: 100 devices, MNIST, LeNet".</param>
/// <param name="Setup">Key facts of the setup, shown at the top of the report (name → value).</param>
public sealed record Comparison(string Title, IReadOnlyList<KeyValuePair<string, string>> Setup, IReadOnlyList<RunResult> Runs)
{
    /// <summary>The run the others are measured against in the reductions table (its strategy label); null for none.</summary>
    public string? Reference { get; init; }

    /// <summary>The same strategies re-run at other fleet sizes (the scaling curve); empty for none.</summary>
    public IReadOnlyList<ScalingPoint> Scaling { get; init; } = [];
}

/// <summary>One strategy's headline figures at one fleet size.</summary>
public sealed record ScalingPoint(int Devices, string Strategy, double? TimeToTarget, double FinalAccuracy, long PeakPlannedBytes,
    double? PayloadPerTask, double? BytesToTarget, double WallSeconds);
