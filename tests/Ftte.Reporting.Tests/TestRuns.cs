namespace Ftte.Reporting.Tests;

/// <summary>Small deterministic runs and comparisons for the writers' tests.</summary>
internal static class TestRuns
{
    public static MetricsPoint Point(double time, int version, double accuracy, long[]? histogram = null, double wall = 0.5) => new()
    {
        Time = time,
        Version = version,
        TestAccuracy = accuracy,
        TestLoss = 2.3 - 2 * accuracy,
        UpdatesReceived = version * 12L,
        UpdatesAccepted = version * 10L,
        UpdatesDropped = version,
        UpdatesStale = version / 2,
        TasksFailed = version / 3,
        BytesDown = version * 1_048_576L,
        BytesUp = version * 262_144L,
        DevicesContributed = Math.Min(100, version * 4),
        DataShareContributed = Math.Min(1.0, version * 0.041),
        DeviceBusySeconds = time * 7.25,
        DeviceIdleSeconds = time * 1.5,
        StalenessHistogram = histogram ?? [version * 5L, version * 3L, version, 0, 1],
        WallSeconds = wall,
    };

    public static RunSummary Summary(string strategy, double? timeToTarget = 1234.5, IReadOnlyList<string>? notes = null) => new()
    {
        Strategy = strategy,
        TargetAccuracy = 0.9,
        TimeToTarget = timeToTarget,
        FinalAccuracy = 0.9312,
        BestAccuracy = 0.9401,
        EndTime = 3600,
        FinalVersion = 40,
        BytesDown = 41_943_040,
        BytesUp = 10_485_760,
        BytesDownPerTask = 104_857.6,
        BytesUpPerTask = 26_214.4,
        PeakPlannedBytes = 262_144,
        Tasks = 400,
        UpdatesAccepted = 380,
        UpdatesDropped = 12,
        UpdatesStale = 8,
        TasksFailed = 20,
        Devices = 100,
        DevicesExcluded = 10,
        DataShareExcluded = 0.081,
        DevicesContributed = 85,
        DataShareContributed = 0.872,
        Tiers =
        [
            new TierStats("sensor", 40, 131_072, 120_000, 30, 100, 5000),
            new TierStats("watch", 30, 524_288, 250_000, 27, 120, 4000),
            new TierStats("phone", 30, 4_194_304, 262_144, 28, 180, 3000),
        ],
        WallSeconds = 12.75,
        OverheadShare = 0.125,
        Notes = notes ?? [],
    };

    public static RunResult Run(string strategy, int points = 5, double? timeToTarget = 1234.5, IReadOnlyList<string>? notes = null) =>
        new(Summary(strategy, timeToTarget, notes),
            [.. Enumerable.Range(0, points).Select(i => Point(i * 600.0, i * 8, 0.1 + 0.8 * i / Math.Max(1, points - 1)))]);

    public static Comparison Comparison(params string[] strategies) =>
        new("quick: 100 devices, MNIST, LeNet",
            [new("devices", "100"), new("dataset", "mnist"), new("seed", "1")],
            [.. strategies.Select(s => Run(s))]);
}
