using System.Text;

namespace Ftte.Reporting;

/// <summary>How a <see cref="TextTable"/> column aligns its cells.</summary>
public enum ColumnAlignment
{
    Left,
    Right,
}

/// <summary>
/// Headers and rows of text rendered as aligned monospace columns, two spaces apart, with a dashed rule
/// under the header. Fitting a width, in order: headers wrap at spaces onto several lines; header words
/// longer than their column's widest cell are abbreviated ("accepted" → "acc."); or, when even that is
/// too wide, the columns are split into blocks printed one under the other, each repeating the
/// first (key) column. Abbreviation is used only when it lets the whole table fit in one block.
/// Widths count UTF-16 characters (wide East Asian characters are not measured).
/// </summary>
public sealed class TextTable
{
    private const string Gap = "  ";
    private readonly string[] _headers;
    private readonly ColumnAlignment[] _alignments;
    private readonly List<string[]> _rows = [];

    /// <param name="headers">Column headers; at least one.</param>
    /// <param name="alignments">One per column; default left for all.</param>
    public TextTable(IReadOnlyList<string> headers, IReadOnlyList<ColumnAlignment>? alignments = null)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (headers.Count == 0)
            throw new ArgumentException("A table needs at least one column.", nameof(headers));
        if (alignments is not null && alignments.Count != headers.Count)
            throw new ArgumentException($"{alignments.Count} alignments given for {headers.Count} columns; give one per column.", nameof(alignments));
        _headers = [.. headers];
        _alignments = alignments is null ? new ColumnAlignment[headers.Count] : [.. alignments];
    }

    public int ColumnCount => _headers.Length;

    public int RowCount => _rows.Count;

    /// <summary>Adds a row of exactly <see cref="ColumnCount"/> cells; line breaks in cells become spaces.</summary>
    public TextTable AddRow(params IReadOnlyList<string> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if (cells.Count != _headers.Length)
            throw new ArgumentException($"The row has {cells.Count} cells but the table has {_headers.Length} columns.", nameof(cells));
        _rows.Add([.. cells.Select(c => c.ReplaceLineEndings(" "))]);
        return this;
    }

    /// <summary>Renders the table in lines of at most <paramref name="maxWidth"/> characters where the cells allow
    /// (a single cell wider than that is not cut); each line ends with <c>\n</c>.</summary>
    public string Render(int maxWidth = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWidth, 1);
        int n = _headers.Length;
        int[] cellWidths = new int[n];
        for (int c = 0; c < n; c++)
            cellWidths[c] = _rows.Count == 0 ? 0 : _rows.Max(r => r[c].Length);

        // 1. Headers on one line.
        string[][] headerLines = [.. _headers.Select(h => new[] { h })];
        int[] widths = Widths(cellWidths, headerLines);
        if (Total(widths, 0, n) > maxWidth)
        {
            // 2. Headers wrapped at spaces, each column as wide as its widest cell or header word.
            headerLines = [.. _headers.Select((h, c) => Wrap(h, Math.Max(cellWidths[c], LongestWord(h))))];
            widths = Widths(cellWidths, headerLines);
        }
        if (Total(widths, 0, n) > maxWidth)
        {
            // 3. Header words abbreviated to the widest cell (at least 4 characters: "acc."), but only when
            //    that makes the table fit: otherwise full words split into blocks read better.
            string[][] abbreviated = [.. _headers.Select((h, c) => Wrap(Abbreviate(h, Math.Max(cellWidths[c], 4)), Math.Max(cellWidths[c], 4)))];
            int[] abbreviatedWidths = Widths(cellWidths, abbreviated);
            if (Total(abbreviatedWidths, 0, n) <= maxWidth)
                (headerLines, widths) = (abbreviated, abbreviatedWidths);
        }

        var sb = new StringBuilder();
        // 4. Blocks of columns, each with the key column first.
        int start = 0;
        while (start < n)
        {
            var columns = new List<int>();
            if (start > 0)
                columns.Add(0);
            int width = start > 0 ? widths[0] : -Gap.Length;
            int end = start;
            while (end < n && (end == start || width + Gap.Length + widths[end] <= maxWidth))
            {
                width += Gap.Length + widths[end];
                columns.Add(end);
                end++;
            }
            if (start > 0)
                sb.Append('\n');
            AppendBlock(sb, columns, widths, headerLines);
            start = end;
        }
        return sb.ToString();
    }

    /// <summary>Writes <see cref="Render"/>'s text.</summary>
    public void Write(TextWriter writer, int maxWidth = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Render(maxWidth));
    }

    public override string ToString() => Render();

    private void AppendBlock(StringBuilder sb, List<int> columns, int[] widths, string[][] headerLines)
    {
        int headerHeight = columns.Max(c => headerLines[c].Length);
        for (int line = 0; line < headerHeight; line++)
        {
            // Headers sit on the bottom lines, next to the rule, like a spreadsheet's wrapped header.
            AppendLine(sb, columns, widths, c =>
            {
                int offset = headerHeight - headerLines[c].Length;
                return line >= offset ? headerLines[c][line - offset] : "";
            });
        }
        AppendLine(sb, columns, widths, c => new string('-', widths[c]), forceLeft: true);
        foreach (string[] row in _rows)
            AppendLine(sb, columns, widths, c => row[c]);
    }

    private void AppendLine(StringBuilder sb, List<int> columns, int[] widths, Func<int, string> cell, bool forceLeft = false)
    {
        int lineStart = sb.Length;
        for (int i = 0; i < columns.Count; i++)
        {
            int c = columns[i];
            if (i > 0)
                sb.Append(Gap);
            string text = cell(c);
            int pad = Math.Max(0, widths[c] - text.Length);
            if (_alignments[c] == ColumnAlignment.Right && !forceLeft)
                sb.Append(' ', pad).Append(text);
            else
                sb.Append(text).Append(' ', pad);
        }
        // No trailing spaces.
        int end = sb.Length;
        while (end > lineStart && sb[end - 1] == ' ')
            end--;
        sb.Length = end;
        sb.Append('\n');
    }

    private static int[] Widths(int[] cellWidths, string[][] headerLines) =>
        [.. cellWidths.Select((w, c) => Math.Max(w, headerLines[c].Max(l => l.Length)))];

    private static int Total(int[] widths, int from, int to)
    {
        int total = 0;
        for (int c = from; c < to; c++)
            total += widths[c] + (c > from ? Gap.Length : 0);
        return total;
    }

    private static int LongestWord(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => w.Length).DefaultIfEmpty(0).Max();

    /// <summary>Greedy word wrap at spaces; a word longer than the width stays whole on its own line.</summary>
    internal static string[] Wrap(string text, int width)
    {
        var lines = new List<string>();
        var current = new StringBuilder();
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (current.Length > 0 && current.Length + 1 + word.Length > width)
            {
                lines.Add(current.ToString());
                current.Clear();
            }
            if (current.Length > 0)
                current.Append(' ');
            current.Append(word);
        }
        if (current.Length > 0 || lines.Count == 0)
            lines.Add(current.ToString());
        return [.. lines];
    }

    /// <summary>Shortens each word longer than <paramref name="width"/> to its first width−1 characters and a dot.</summary>
    internal static string Abbreviate(string text, int width) =>
        string.Join(' ', text.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(w => w.Length <= width ? w : string.Concat(w.AsSpan(0, width - 1), ".")));
}
