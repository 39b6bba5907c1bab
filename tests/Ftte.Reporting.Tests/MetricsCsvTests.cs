namespace Ftte.Reporting.Tests;

public sealed class MetricsCsvTests
{
    private static string Csv(Comparison comparison, bool includeWallClock = false)
    {
        var writer = new StringWriter();
        MetricsCsv.Write(writer, comparison, includeWallClock);
        return writer.ToString();
    }

    [Fact]
    public void Write_Default_HeaderHasNoWallClockColumn()
    {
        // Act
        string[] lines = Csv(TestRuns.Comparison("fedavg")).Split('\n');

        // Assert
        Assert.Equal(
            "strategy,time_s,version,test_accuracy,test_loss,updates_received,updates_accepted,updates_dropped,updates_stale,tasks_failed,bytes_down,bytes_up,devices_contributed,data_share_contributed,device_busy_s,device_idle_s,staleness_histogram",
            lines[0]);
    }

    [Fact]
    public void Write_IncludeWallClock_WallIsLastColumn()
    {
        // Act
        string[] lines = Csv(TestRuns.Comparison("fedavg"), includeWallClock: true).Split('\n');

        // Assert
        Assert.EndsWith(",staleness_histogram,wall_s", lines[0]);
        Assert.EndsWith(",0.5", lines[1]);
    }

    [Fact]
    public void Write_TwoRuns_OneRowPerStrategyAndPoint()
    {
        // Arrange
        var comparison = new Comparison("t", [], [TestRuns.Run("fedavg", points: 3), TestRuns.Run("ftte", points: 4)]);

        // Act
        string[] lines = Csv(comparison).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Assert
        Assert.Equal(1 + 3 + 4, lines.Length);
        Assert.Equal(3, lines.Count(l => l.StartsWith("fedavg,", StringComparison.Ordinal)));
        Assert.Equal(4, lines.Count(l => l.StartsWith("ftte,", StringComparison.Ordinal)));
    }

    [Fact]
    public void Write_Point_FieldsInvariantAndRoundTrip()
    {
        // Arrange
        MetricsPoint p = TestRuns.Point(600.1, 8, 0.1 + 0.2, histogram: [7, 0, 3]);
        var comparison = new Comparison("t", [], [new RunResult(TestRuns.Summary("fedbuff"), [p])]);

        // Act
        string[] fields = Csv(comparison).Split('\n')[1].Split(',');

        // Assert
        Assert.Equal(17, fields.Length);
        Assert.Equal("fedbuff", fields[0]);
        Assert.Equal("600.1", fields[1]);
        Assert.Equal("8", fields[2]);
        Assert.Equal(0.1 + 0.2, double.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("0.30000000000000004", fields[3]);
        Assert.Equal("8388608", fields[10]);
        Assert.Equal("7;0;3", fields[16]);
    }

    [Fact]
    public void Write_EmptyHistogram_EmptyField()
    {
        // Arrange
        var comparison = new Comparison("t", [], [new RunResult(TestRuns.Summary("a"), [TestRuns.Point(0, 0, 0.1, histogram: [])])]);

        // Act
        string row = Csv(comparison).Split('\n')[1];

        // Assert
        Assert.EndsWith(",", row);
    }

    [Theory]
    [InlineData("fedbuff", "fedbuff")]
    [InlineData("fedbuff (K=10, τ≤5)", "\"fedbuff (K=10, τ≤5)\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    public void Quote_SpecialCharacters_Rfc4180(string name, string expected)
    {
        Assert.Equal(expected, MetricsCsv.Quote(name));
    }

    [Fact]
    public void Write_StrategyWithComma_RowStartsWithQuotedName()
    {
        // Arrange
        var comparison = new Comparison("t", [], [TestRuns.Run("ftte, K=10", points: 1)]);

        // Act
        string row = Csv(comparison).Split('\n')[1];

        // Assert
        Assert.StartsWith("\"ftte, K=10\",0,", row);
    }

    [Fact]
    public void Write_EqualInputsDifferentWallClock_ByteIdentical()
    {
        // Arrange: same runs, wall-clock differs as it would between two hosts.
        static Comparison Make(double wall) => new("t", [],
            [new RunResult(TestRuns.Summary("ftte"), [TestRuns.Point(0, 0, 0.1, wall: wall), TestRuns.Point(60.25, 3, 1.0 / 3, wall: wall * 2)])]);

        // Act
        string a = Csv(Make(1.25));
        string b = Csv(Make(9.75));

        // Assert
        Assert.Equal(a, b);
    }

    [Fact]
    public void WriteFile_Twice_SameBytesWithoutBomAndWithLf()
    {
        // Arrange
        string dir = Directory.CreateTempSubdirectory("ftte-csv-").FullName;
        try
        {
            string first = Path.Combine(dir, "a.csv"), second = Path.Combine(dir, "b.csv");

            // Act
            MetricsCsv.WriteFile(first, TestRuns.Comparison("fedavg", "ftte"));
            MetricsCsv.WriteFile(second, TestRuns.Comparison("fedavg", "ftte"));

            // Assert
            byte[] bytes = File.ReadAllBytes(first);
            Assert.Equal(bytes, File.ReadAllBytes(second));
            Assert.Equal((byte)'s', bytes[0]);
            Assert.DoesNotContain((byte)'\r', bytes);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
