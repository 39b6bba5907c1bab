using Ftte.Core;

namespace Ftte.Reporting.Internal;

/// <summary>A column of the summary table: its full header (HTML), compact header (terminal) and cell text.</summary>
internal sealed record SummaryColumn(string Header, string ShortHeader, bool Numeric, Func<RunSummary, string> Cell);

/// <summary>The one definition of the summary table, shared by <see cref="HtmlReport"/> and <see cref="TerminalTable"/>.</summary>
internal static class SummaryColumns
{
    public static readonly IReadOnlyList<SummaryColumn> All =
    [
        new("strategy", "strategy", false, s => s.Strategy),
        new("time to target", "to target", true, s => s.TimeToTarget is double t ? HumanFormat.Duration(t) : "not reached"),
        new("final accuracy", "final acc", true, s => Invariant.Percent(s.FinalAccuracy, 2)),
        new("best accuracy", "best acc", true, s => Invariant.Percent(s.BestAccuracy, 2)),
        new("peak planned memory", "peak mem", true, s => ByteSize.Format(s.PeakPlannedBytes)),
        new("bytes down", "down", true, s => ByteSize.Format(s.BytesDown)),
        new("bytes up", "up", true, s => ByteSize.Format(s.BytesUp)),
        new("down per task", "down/task", true, s => Bytes(s.BytesDownPerTask)),
        new("up per task", "up/task", true, s => Bytes(s.BytesUpPerTask)),
        new("first-contact download", "1st contact", true, s => ByteSize.Format(s.BytesDownFirstContact)),
        new("updates accepted", "accepted", true, s => Invariant.Integer(s.UpdatesAccepted)),
        new("updates dropped", "dropped", true, s => Invariant.Integer(s.UpdatesDropped)),
        new("updates stale", "stale", true, s => Invariant.Integer(s.UpdatesStale)),
        new("tasks failed", "failed", true, s => Invariant.Integer(s.TasksFailed)),
        new("devices excluded (data share)", "excluded", true, s => Share(s.DevicesExcluded, s.DataShareExcluded)),
        new("devices contributed (data share)", "contributed", true, s => Share(s.DevicesContributed, s.DataShareContributed)),
        new("wall time", "wall", true, s => HumanFormat.Duration(s.WallSeconds)),
        new("overhead share", "overhead", true, s => Invariant.Percent(s.OverheadShare)),
    ];

    private static string Bytes(double bytes) => double.IsFinite(bytes) && bytes >= 0 ? ByteSize.Format((long)Math.Round(bytes)) : "—";

    private static string Share(int devices, double dataShare) => $"{Invariant.Integer(devices)} ({Invariant.Percent(dataShare)})";
}
