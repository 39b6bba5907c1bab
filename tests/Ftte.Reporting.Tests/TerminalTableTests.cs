namespace Ftte.Reporting.Tests;

public sealed class TerminalTableTests
{
    [Fact]
    public void Render_WideTerminal_OneBlockWithEveryStrategy()
    {
        // Act
        string text = TerminalTable.Render(TestRuns.Comparison("fedavg", "fedbuff", "ftte"), maxWidth: 400);

        // Assert
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2 + 3, lines.Length);
        Assert.StartsWith("strategy", lines[0]);
        Assert.StartsWith("fedavg", lines[2]);
        Assert.StartsWith("ftte", lines[4]);
        Assert.All(lines.Skip(1), l => Assert.Equal(lines[1].Length, l.Length)); // right-aligned numbers end together
    }

    [Fact]
    public void Render_Cells_SameFiguresAsHtml()
    {
        // Act
        string text = TerminalTable.Render(TestRuns.Comparison("ftte"), maxWidth: 400);

        // Assert
        Assert.Contains("20 min 35 s", text);
        Assert.Contains("93.12%", text);
        Assert.Contains("40.00 MiB", text);
        Assert.Contains("85 (87.2%)", text);
        Assert.Contains("12.5%", text);
    }

    [Fact]
    public void Render_EightyColumns_EveryLineFits()
    {
        // Act
        string text = TerminalTable.Render(TestRuns.Comparison("fedavg", "ftte"), maxWidth: 80);

        // Assert
        Assert.All(text.Split('\n'), l => Assert.True(l.Length <= 80, $"{l.Length}: {l}"));
        Assert.Contains("overhead", text);
    }

    [Fact]
    public void Render_NumberColumn_RightAligned()
    {
        // Arrange
        RunResult a = TestRuns.Run("a");
        RunResult b = TestRuns.Run("b") with { Summary = TestRuns.Summary("b") with { UpdatesAccepted = 7 } };

        // Act
        string[] lines = TerminalTable.Build([a.Summary, b.Summary]).Render().Split('\n');
        int column = lines[0].IndexOf("accepted", StringComparison.Ordinal) + "accepted".Length;

        // Assert
        Assert.Equal("380", lines[2][(column - 3)..column]);
        Assert.Equal("  7", lines[3][(column - 3)..column]);
    }
}
