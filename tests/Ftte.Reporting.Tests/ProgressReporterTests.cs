namespace Ftte.Reporting.Tests;

public sealed class ProgressReporterTests
{
    private sealed class FakeClock
    {
        public double Now { get; set; }
        public double Read() => Now;
    }

    private static (ProgressReporter Reporter, StringWriter Output, FakeClock Clock) Create(bool interactive, double plainInterval = 10)
    {
        var clock = new FakeClock();
        var output = new StringWriter();
        var reporter = new ProgressReporter(1000, new ProgressOptions
        {
            Output = output,
            Interactive = interactive,
            PlainIntervalSeconds = plainInterval,
            WallClock = clock.Read,
        });
        return (reporter, output, clock);
    }

    [Fact]
    public void Report_Terminal_RedrawsWithCarriageReturn()
    {
        // Arrange
        var (reporter, output, clock) = Create(interactive: true);

        // Act
        reporter.Report("ftte", 100, 3, 0.5);
        clock.Now = 1;
        reporter.Report("ftte", 200, 6, 0.6);

        // Assert
        string text = output.ToString();
        Assert.Equal(2, text.Count(c => c == '\r'));
        Assert.DoesNotContain('\n', text);
    }

    [Fact]
    public void Report_TerminalManyUpdatesInOneSecond_AtMostTenRedraws()
    {
        // Arrange
        var (reporter, output, clock) = Create(interactive: true);

        // Act: 1000 reports over one second of wall-clock.
        for (int i = 0; i < 1000; i++)
        {
            clock.Now = i / 1000.0;
            reporter.Report("ftte", i, i, 0.5);
        }

        // Assert
        Assert.InRange(output.ToString().Count(c => c == '\r'), 1, 10);
    }

    [Fact]
    public void Complete_Terminal_FinalStateAndNewline()
    {
        // Arrange
        var (reporter, output, clock) = Create(interactive: true);
        reporter.Report("ftte", 100, 3, 0.5);
        clock.Now = 0.01;
        reporter.Report("ftte", 1000, 30, 0.91); // throttled

        // Act
        reporter.Complete();

        // Assert
        string text = output.ToString();
        Assert.EndsWith("\n", text);
        string last = text.TrimEnd('\n').Split('\r')[^1];
        Assert.Contains("100%", last);
        Assert.Contains("v 30", last);
    }

    [Fact]
    public void Report_TerminalShorterLine_PadsOverPrevious()
    {
        // Arrange
        var (reporter, output, clock) = Create(interactive: true);
        reporter.Report("a-very-long-strategy-name", 0, 0, 0.1);
        clock.Now = 1;

        // Act
        reporter.Report("a-very-long-strategy-name", 10, 1000000, 0.1);
        string[] draws = output.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries);

        // Assert
        Assert.True(draws[1].Length >= draws[0].Length);
    }

    [Fact]
    public void Report_Plain_LinesAtIntervalAndFinalLine()
    {
        // Arrange
        var (reporter, output, clock) = Create(interactive: false, plainInterval: 10);

        // Act: one report per wall-clock second for 25 s.
        for (int s = 0; s <= 25; s++)
        {
            clock.Now = s;
            reporter.Report("fedbuff", s * 40, s, 0.5);
        }
        reporter.Complete();

        // Assert: at 0, 10, 20 s, then the final line.
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.DoesNotContain('\r', output.ToString());
        Assert.Contains("v 10", lines[1]);
        Assert.Contains("v 20", lines[2]);
        Assert.Contains("v 25", lines[3]);
        Assert.EndsWith("(final)", lines[3]);
    }

    [Fact]
    public void Report_Line_ShowsBarValuesAndEta()
    {
        // Arrange
        var (reporter, output, clock) = Create(interactive: false);
        reporter.Report("ftte", 0, 0, 0.1);
        clock.Now = 30;
        reporter.Complete();
        output.GetStringBuilder().Clear();

        // Act: 25 % done after 30 s of wall-clock → 90 s to go.
        reporter.Report("ftte", 0, 0, 0.1);
        clock.Now = 60;
        reporter.Report("ftte", 250, 12, 0.8125, fraction: 0.25);
        reporter.Complete();

        // Assert
        string last = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.Equal("ftte  [#####---------------]  25%  t 4 min 10 s  v 12  acc 81.25%  ETA 1 min 30 s  (final)", last);
    }

    [Fact]
    public void Report_NewStrategy_CompletesPreviousAndRestartsEta()
    {
        // Arrange
        var (reporter, output, clock) = Create(interactive: true);
        reporter.Report("fedavg", 1000, 10, 0.9);
        clock.Now = 100;

        // Act
        reporter.Report("ftte", 0, 0, 0.1);

        // Assert
        string text = output.ToString();
        Assert.Contains("\n", text);
        Assert.Contains("ETA --", text.Split('\n')[^1]);
    }

    [Theory]
    [InlineData(null, "ETA --")]
    [InlineData(0.0, "done")]
    [InlineData(5.0, "ETA 5.0 s")]
    [InlineData(90.0, "ETA 1 min 30 s")]
    [InlineData(3725.0, "ETA 1 h 02 min")]
    public void FormatEta_Seconds_Human(double? seconds, string expected)
    {
        Assert.Equal(expected, ProgressReporter.FormatEta(seconds));
    }

    [Theory]
    [InlineData(10, 0.0, null)]
    [InlineData(10, 0.5, 10.0)]
    [InlineData(30, 0.25, 90.0)]
    [InlineData(10, 1.0, 0.0)]
    public void Eta_ElapsedAndFraction_LinearExtrapolation(double elapsed, double fraction, double? expected)
    {
        Assert.Equal(expected, ProgressReporter.Eta(elapsed, fraction));
    }

    [Fact]
    public void Constructor_NonPositiveTotal_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProgressReporter(0, new ProgressOptions { Output = TextWriter.Null }));
    }
}
