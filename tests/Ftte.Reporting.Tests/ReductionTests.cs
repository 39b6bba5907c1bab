using System.Text.Json;

namespace Ftte.Reporting.Tests;

public class ReductionTests
{
    private static Comparison TwoRuns()
    {
        var reference = TestRuns.Run("FTTE") with
        {
            Summary = TestRuns.Summary("FTTE", timeToTarget: 190) with
            {
                PeakPlannedBytes = 200_000, BytesDown = 3_000_000, BytesUp = 1_000_000, BytesDownFirstContact = 1_000_000,
                UpdatesAccepted = 90, UpdatesDropped = 5, UpdatesStale = 5, FinalAccuracy = 0.90,
            },
        };
        var other = TestRuns.Run("FedAvg") with
        {
            Summary = TestRuns.Summary("FedAvg", timeToTarget: 1000) with
            {
                PeakPlannedBytes = 1_000_000, BytesDown = 8_000_000, BytesUp = 8_000_000,
                UpdatesAccepted = 100, UpdatesDropped = 0, UpdatesStale = 0, FinalAccuracy = 0.92,
            },
        };
        return new Comparison("t", [], [reference, other]) { Reference = "FTTE" };
    }

    [Fact]
    public void Against_ComputesOneMinusReferenceOverOther_AndExcludesFirstContactFromPerTaskPayload()
    {
        var r = Assert.Single(Reduction.Against(TwoRuns(), "FTTE"));
        Assert.Equal("FedAvg", r.Other);
        Assert.Equal(1 - 190.0 / 1000, r.TimeToTarget!.Value, 12);
        Assert.Equal(0.8, r.PeakMemory!.Value, 12);
        // FTTE: (3,000,000 − 1,000,000 + 1,000,000) / 100 tasks = 30,000; FedAvg: 16,000,000 / 100 = 160,000.
        Assert.Equal(1 - 30_000.0 / 160_000, r.PayloadPerTask!.Value, 12);
        Assert.Equal(1 - 4_000_000.0 / 16_000_000, r.PayloadTotal!.Value, 12);
        Assert.Equal(-0.02, r.AccuracyDifference, 12);
    }

    [Fact]
    public void NeverReachingTheTarget_LeavesTheTimeReductionEmpty()
    {
        var c = TwoRuns();
        c = c with { Runs = [c.Runs[0], c.Runs[1] with { Summary = c.Runs[1].Summary with { TimeToTarget = null } }] };
        Assert.Null(Reduction.Against(c, "FTTE")[0].TimeToTarget);
        Assert.Contains("—", TerminalTable.ReductionTable(c, "FTTE").Render());
    }

    [Fact]
    public void UnknownReference_IsAnErrorNamingTheRuns()
    {
        var e = Assert.Throws<ArgumentException>(() => Reduction.Against(TwoRuns(), "FedBuff"));
        Assert.Contains("FTTE, FedAvg", e.Message);
    }

    [Fact]
    public void Writers_ShowTheReductions_WhenAReferenceIsSet()
    {
        var c = TwoRuns();
        string text = TerminalTable.Render(c, 200);
        Assert.Contains("81.0% less", text);
        Assert.Contains("80.0% less", text);
        Assert.Contains("-2.00 pt", text);
        string html = HtmlReport.Render(c);
        Assert.Contains("FTTE against the others", html);
        using var json = JsonDocument.Parse(SummaryJson.ToJson(c));
        Assert.Equal("FTTE", json.RootElement.GetProperty("reference").GetString());
        var row = json.RootElement.GetProperty("reductions")[0];
        Assert.Equal("FedAvg", row.GetProperty("against").GetString());
        Assert.Equal(0.81, row.GetProperty("timeToTarget").GetDouble(), 12);
        Assert.Equal(1_000_000, json.RootElement.GetProperty("runs")[0].GetProperty("bytesDownFirstContact").GetInt64());

        // Without a reference the writers stay as they were.
        Assert.DoesNotContain("against the others", HtmlReport.Render(c with { Reference = null }));
    }
}

public class ScalingReportTests
{
    private static Comparison WithScaling()
    {
        ScalingPoint P(int n, string s, double? t) => new(n, s, t, 0.8, 1 << 20, 1000, 5e6, 1.5);
        return TestRuns.Comparison("FTTE", "FedAvg") with
        {
            Reference = "FTTE",
            Scaling = [P(100, "FTTE", 60), P(100, "FedAvg", 300), P(500, "FTTE", 90), P(500, "FedAvg", 900), P(1000, "FTTE", 100), P(1000, "FedAvg", null)],
        };
    }

    [Fact]
    public void ScalingAgainst_GivesTheTimeSavingAtEachSize()
    {
        var c = WithScaling();
        var curve = Reduction.ScalingAgainst(c.Scaling, "FTTE", "FedAvg");
        Assert.Equal([100, 500, 1000], curve.Select(x => x.Devices));
        Assert.Equal(0.8, curve[0].TimeToTarget!.Value, 12);
        Assert.Equal(0.9, curve[1].TimeToTarget!.Value, 12);
        Assert.Null(curve[2].TimeToTarget);
    }

    [Fact]
    public void Writers_ShowTheScalingCurve()
    {
        var c = WithScaling();
        string text = TerminalTable.Render(c, 200);
        Assert.Contains("FTTE to target", text);
        Assert.Contains("90.0% less", text);
        string html = HtmlReport.Render(c);
        Assert.Contains("Time to target by fleet size", html);
        Assert.Contains("not reached", html);
        using var json = System.Text.Json.JsonDocument.Parse(SummaryJson.ToJson(c));
        var scaling = json.RootElement.GetProperty("scaling");
        Assert.Equal(6, scaling.GetArrayLength());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, scaling[5].GetProperty("timeToTarget").ValueKind);
    }
}
