using System.Text.Json;

namespace Ftte.Reporting.Tests;

public sealed class SummaryJsonTests
{
    [Fact]
    public void ToJson_Comparison_ParsesWithTitleSetupAndRuns()
    {
        // Act
        using JsonDocument doc = JsonDocument.Parse(SummaryJson.ToJson(TestRuns.Comparison("fedavg", "ftte")));

        // Assert
        JsonElement root = doc.RootElement;
        Assert.Equal("quick: 100 devices, MNIST, LeNet", root.GetProperty("title").GetString());
        Assert.Equal("mnist", root.GetProperty("setup").GetProperty("dataset").GetString());
        Assert.Equal(2, root.GetProperty("runs").GetArrayLength());
        Assert.Equal("ftte", root.GetProperty("runs")[1].GetProperty("strategy").GetString());
    }

    [Fact]
    public void ToJson_Run_SummaryFieldsCamelCaseInDeclarationOrder()
    {
        // Act
        using JsonDocument doc = JsonDocument.Parse(SummaryJson.ToJson(TestRuns.Comparison("ftte")));
        JsonElement run = doc.RootElement.GetProperty("runs")[0];

        // Assert
        string[] expected =
        [
            "strategy", "targetAccuracy", "timeToTarget", "finalAccuracy", "bestAccuracy", "endTime", "finalVersion",
            "bytesDown", "bytesUp", "bytesDownPerTask", "bytesUpPerTask", "bytesDownFirstContact", "peakPlannedBytes", "tasks",
            "updatesAccepted", "updatesDropped", "updatesStale", "tasksFailed", "devices", "devicesExcluded",
            "dataShareExcluded", "devicesContributed", "dataShareContributed", "tiers", "wallSeconds", "overheadShare", "notes",
        ];
        Assert.Equal(expected, run.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1234.5, run.GetProperty("timeToTarget").GetDouble());
        Assert.Equal(41_943_040, run.GetProperty("bytesDown").GetInt64());
        Assert.Equal(12.75, run.GetProperty("wallSeconds").GetDouble());
    }

    [Fact]
    public void ToJson_Tiers_AllFields()
    {
        // Act
        using JsonDocument doc = JsonDocument.Parse(SummaryJson.ToJson(TestRuns.Comparison("ftte")));
        JsonElement tier = doc.RootElement.GetProperty("runs")[0].GetProperty("tiers")[1];

        // Assert
        Assert.Equal(["tier", "devices", "memoryBytesMin", "peakPlannedBytes", "devicesContributed", "tasks", "busySeconds"],
            tier.EnumerateObject().Select(p => p.Name));
        Assert.Equal("watch", tier.GetProperty("tier").GetString());
        Assert.Equal(27, tier.GetProperty("devicesContributed").GetInt32());
    }

    [Fact]
    public void ToJson_TargetNeverReached_TimeToTargetNull()
    {
        // Arrange
        var comparison = new Comparison("t", [], [TestRuns.Run("fedavg", timeToTarget: null)]);

        // Act
        using JsonDocument doc = JsonDocument.Parse(SummaryJson.ToJson(comparison));

        // Assert
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("runs")[0].GetProperty("timeToTarget").ValueKind);
    }

    [Fact]
    public void ToJson_NonFiniteNumber_Null()
    {
        // Arrange
        RunResult run = TestRuns.Run("a");
        run = run with { Summary = run.Summary with { OverheadShare = double.NaN } };

        // Act
        using JsonDocument doc = JsonDocument.Parse(SummaryJson.ToJson(new Comparison("t", [], [run])));

        // Assert
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("runs")[0].GetProperty("overheadShare").ValueKind);
    }

    [Fact]
    public void ToJson_Notes_Array()
    {
        // Arrange
        var comparison = new Comparison("t", [], [TestRuns.Run("a", notes: ["memory check off", "K=10"])]);

        // Act
        using JsonDocument doc = JsonDocument.Parse(SummaryJson.ToJson(comparison));

        // Assert
        Assert.Equal(["memory check off", "K=10"],
            doc.RootElement.GetProperty("runs")[0].GetProperty("notes").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void ToJson_SameInput_IdenticalIndentedTextWithLf()
    {
        // Act
        string a = SummaryJson.ToJson(TestRuns.Comparison("fedavg", "ftte"));
        string b = SummaryJson.ToJson(TestRuns.Comparison("fedavg", "ftte"));

        // Assert
        Assert.Equal(a, b);
        Assert.DoesNotContain('\r', a);
        Assert.Contains("\n  \"title\": ", a);
    }

    [Fact]
    public void Write_Stream_SameTextAsToJsonWithoutFinalNewline()
    {
        // Arrange
        Comparison comparison = TestRuns.Comparison("ftte");
        using var stream = new MemoryStream();

        // Act
        SummaryJson.Write(stream, comparison);

        // Assert
        Assert.Equal(SummaryJson.ToJson(comparison), System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n");
    }

    [Fact]
    public void ToJson_DuplicateSetupName_Throws()
    {
        // Arrange
        var comparison = new Comparison("t", [new("seed", "1"), new("seed", "2")], []);

        // Act + Assert
        var error = Assert.Throws<ArgumentException>(() => SummaryJson.ToJson(comparison));
        Assert.Contains("seed", error.Message);
    }
}
