namespace Ftte.Reporting;

/// <summary>
/// How much a reference run saves against another run. Each reduction is 1 − reference/other: 0.81 means the
/// reference needs 81% less. Null when a side has no value (e.g. a run that never reached the target).
/// </summary>
/// <param name="TimeToTarget">Virtual time to the target accuracy.</param>
/// <param name="PeakMemory">Largest planned peak training memory on a device.</param>
/// <param name="PayloadPerTask">Bytes down + up per completed task, first contacts excluded.</param>
/// <param name="PayloadToTarget">Bytes down + up until the target accuracy was first reached.</param>
/// <param name="PayloadTotal">Bytes down + up over the whole run.</param>
/// <param name="AccuracyDifference">Final accuracy of the reference minus the other's (positive: the reference is better).</param>
public sealed record Reduction(string Reference, string Other, double? TimeToTarget, double? PeakMemory, double? PayloadPerTask,
    double? PayloadToTarget, double? PayloadTotal, double AccuracyDifference)
{
    /// <summary>The reference against every other run of <paramref name="comparison"/>.</summary>
    public static IReadOnlyList<Reduction> Against(Comparison comparison, string reference)
    {
        var refRun = comparison.Runs.FirstOrDefault(r => r.Strategy == reference)
            ?? throw new ArgumentException($"No run is called '{reference}'; runs: {string.Join(", ", comparison.Runs.Select(r => r.Strategy))}.", nameof(reference));
        return [.. comparison.Runs.Where(r => r != refRun).Select(r => Between(refRun, r))];
    }

    public static Reduction Between(RunResult reference, RunResult other)
    {
        RunSummary a = reference.Summary, b = other.Summary;
        return new Reduction(a.Strategy, b.Strategy,
            Saving(a.TimeToTarget, b.TimeToTarget),
            Saving(a.PeakPlannedBytes, b.PeakPlannedBytes),
            Saving(PerTask(a), PerTask(b)),
            Saving(BytesToTarget(reference), BytesToTarget(other)),
            Saving(a.BytesDown + a.BytesUp, b.BytesDown + b.BytesUp),
            a.FinalAccuracy - b.FinalAccuracy);
    }

    /// <summary>Down + up bytes per completed task without the one-off first-contact downloads.</summary>
    public static double? PerTask(RunSummary s)
    {
        long tasks = s.UpdatesAccepted + s.UpdatesDropped + s.UpdatesStale;
        return tasks == 0 ? null : (double)(s.BytesDown - s.BytesDownFirstContact + s.BytesUp) / tasks;
    }

    /// <summary>Bytes down + up at the first evaluation point at or above the target, or null.</summary>
    public static double? BytesToTarget(RunResult run)
    {
        foreach (var p in run.Points)
            if (p.TestAccuracy >= run.Summary.TargetAccuracy) return p.BytesDown + p.BytesUp;
        return null;
    }

    /// <summary>The headline figures of a run, for a scaling curve at <paramref name="devices"/> devices.</summary>
    public static ScalingPoint ScalingPointOf(RunResult run, int devices) =>
        new(devices, run.Strategy, run.Summary.TimeToTarget, run.Summary.FinalAccuracy, run.Summary.PeakPlannedBytes,
            PerTask(run.Summary), BytesToTarget(run), run.Summary.WallSeconds);

    /// <summary>Time-to-target reduction of <paramref name="reference"/> against <paramref name="other"/> at each fleet size both ran.</summary>
    public static IReadOnlyList<(int Devices, double? TimeToTarget)> ScalingAgainst(IReadOnlyList<ScalingPoint> points, string reference, string other) =>
        [.. points.Where(p => p.Strategy == reference).OrderBy(p => p.Devices)
            .Select(r => (r.Devices, points.FirstOrDefault(o => o.Strategy == other && o.Devices == r.Devices) is { } o ? Saving(r.TimeToTarget, o.TimeToTarget) : null))];

    private static double? Saving(double? reference, double? other) =>
        reference is { } a && other is { } b && b > 0 ? 1 - a / b : null;
}
