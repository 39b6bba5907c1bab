namespace Ftte.Reporting.Tests;

public sealed class TextTableTests
{
    [Fact]
    public void Render_Columns_AlignedWithRule()
    {
        // Arrange
        var table = new TextTable(["name", "count"], [ColumnAlignment.Left, ColumnAlignment.Right]);
        table.AddRow("fedavg", "7");
        table.AddRow("ftte", "1234");

        // Act
        string text = table.Render();

        // Assert
        Assert.Equal(
            "name    count\n" +
            "------  -----\n" +
            "fedavg      7\n" +
            "ftte     1234\n", text);
    }

    [Fact]
    public void Render_NarrowWidth_HeadersWrapAtSpaces()
    {
        // Arrange
        var table = new TextTable(["strategy", "updates accepted", "updates dropped"], [ColumnAlignment.Left, ColumnAlignment.Right, ColumnAlignment.Right]);
        table.AddRow("fedavg", "380", "12");

        // Act
        string[] lines = table.Render(maxWidth: 30).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Assert
        Assert.Equal(
        [
            "           updates  updates",
            "strategy  accepted  dropped",
            "--------  --------  -------",
            "fedavg         380       12",
        ], lines);
        Assert.All(lines, l => Assert.True(l.Length <= 30));
    }

    [Fact]
    public void Render_VeryNarrow_HeadersAbbreviated()
    {
        // Arrange
        var table = new TextTable(["s", "accepted", "dropped"], [ColumnAlignment.Left, ColumnAlignment.Right, ColumnAlignment.Right]);
        table.AddRow("a", "3", "1");

        // Act
        string[] lines = table.Render(maxWidth: 16).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Assert
        Assert.Equal("s  acc.  dro.", lines[0]);
        Assert.All(lines, l => Assert.True(l.Length <= 16, l));
    }

    [Fact]
    public void Render_TooManyColumns_SplitIntoBlocksRepeatingKey()
    {
        // Arrange
        var table = new TextTable(["strategy", "aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"]);
        table.AddRow("ftte", "1111111111", "2222222222", "3333333333");

        // Act
        string[] blocks = table.Render(maxWidth: 34).Split("\n\n");

        // Assert
        Assert.Equal(2, blocks.Length);
        Assert.StartsWith("strategy  aaaaaaaaaa  bbbbbbbbbb", blocks[0]);
        Assert.StartsWith("strategy  cccccccccc", blocks[1]);
        Assert.Contains("ftte      3333333333", blocks[1]);
    }

    [Fact]
    public void Render_NoRows_HeaderAndRule()
    {
        Assert.Equal("a  b\n-  -\n", new TextTable(["a", "b"]).Render());
    }

    [Fact]
    public void AddRow_WrongCellCount_Throws()
    {
        var table = new TextTable(["a", "b"]);
        Assert.Throws<ArgumentException>(() => table.AddRow("only one"));
    }

    [Fact]
    public void Render_Lines_NoTrailingSpaces()
    {
        // Arrange
        var table = new TextTable(["long header", "b"]);
        table.AddRow("x", "");

        // Act + Assert
        Assert.All(table.Render().Split('\n'), l => Assert.False(l.EndsWith(' '), l));
    }
}
