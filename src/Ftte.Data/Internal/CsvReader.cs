using System.Globalization;
using System.Text;

namespace Ftte.Data.Internal;

/// <summary>
/// Reads a numeric CSV table (plain or gzipped) into one contiguous feature array. The bytes are
/// parsed in place (UTF-8, invariant culture) so an error can name the exact byte offset; tables here
/// are small (the largest, digits, is 0.5 MB), so holding the file in memory once is cheap.
/// </summary>
internal static class CsvReader
{
    internal sealed record CsvTable(float[] Features, int[] Labels, int[]? Groups, int FeatureCount);

    public static CsvTable Read(string path, CsvFormat format)
    {
        byte[] bytes = DataFileReader.ReadAll(path);
        var lines = SplitLines(bytes, format.HeaderLines, path);
        if (lines.Count == 0)
            throw new DataFormatException(path, bytes.Length, $"at least one data row after {format.HeaderLines} header line(s)", "end of file");

        int columns = CountFields(bytes.AsSpan(lines[0].Start, lines[0].Length), format.Separator);
        int labelColumn = ResolveColumn(format.LabelColumn, columns, path, lines[0].Start, "label");
        int groupColumn = format.GroupColumn is int g ? ResolveColumn(g, columns, path, lines[0].Start, "group") : -1;
        int featureCount = columns - 1 - (groupColumn >= 0 ? 1 : 0);
        if (featureCount < 1)
            throw new DataFormatException(path, lines[0].Start, "at least one feature column besides the label and group columns", $"{columns} columns");

        var features = new float[(long)lines.Count * featureCount];
        var labels = new int[lines.Count];
        int[]? groups = groupColumn >= 0 ? new int[lines.Count] : null;
        var groupIds = new Dictionary<string, int>(StringComparer.Ordinal);

        for (int row = 0; row < lines.Count; row++)
        {
            (int start, int length) = lines[row];
            int column = 0, feature = 0, fieldStart = start, end = start + length;
            for (int i = start; i <= end; i++)
            {
                if (i < end && bytes[i] != (byte)format.Separator) continue;
                if (column >= columns)
                    throw new DataFormatException(path, fieldStart, $"{columns} fields in row {row} (as in the first row)", "more");
                ReadOnlySpan<byte> field = Trim(bytes.AsSpan(fieldStart, i - fieldStart));
                if (column == groupColumn)
                {
                    string key = Encoding.UTF8.GetString(field);
                    if (!groupIds.TryGetValue(key, out int id)) groupIds[key] = id = groupIds.Count;
                    groups![row] = id;
                }
                else
                {
                    double value = ParseNumber(field, path, fieldStart, column == labelColumn ? "an integer class label ≥ 0" : "a number");
                    if (column == labelColumn)
                    {
                        if (value < 0 || value != Math.Floor(value) || value > int.MaxValue)
                            throw new DataFormatException(path, fieldStart, "an integer class label ≥ 0", Encoding.UTF8.GetString(field));
                        labels[row] = (int)value;
                    }
                    else
                    {
                        features[(long)row * featureCount + feature++] = (float)value;
                    }
                }
                column++;
                fieldStart = i + 1;
            }
            if (column != columns)
                throw new DataFormatException(path, end, $"{columns} fields in row {row} (as in the first row)", $"{column}");
        }
        return new CsvTable(features, labels, groups, featureCount);
    }

    private static double ParseNumber(ReadOnlySpan<byte> field, string path, long offset, string expected)
    {
        if (!double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            throw new DataFormatException(path, offset, expected, field.IsEmpty ? "an empty field" : $"\"{Encoding.UTF8.GetString(field)}\"");
        return value;
    }

    private static int ResolveColumn(int column, int columns, string path, long offset, string role)
    {
        int resolved = column < 0 ? columns + column : column;
        if ((uint)resolved >= (uint)columns)
            throw new DataFormatException(path, offset, $"a {role} column {column} within the {columns} columns of the first row");
        return resolved;
    }

    private static int CountFields(ReadOnlySpan<byte> line, char separator) => line.Count((byte)separator) + 1;

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> field) => field.Trim((byte)' ').Trim((byte)'\r');

    /// <summary>(start, length) of every non-empty line after the header lines.</summary>
    private static List<(int Start, int Length)> SplitLines(byte[] bytes, int headerLines, string path)
    {
        var lines = new List<(int, int)>();
        int lineStart = 0, lineNumber = 0;
        for (int i = 0; i <= bytes.Length; i++)
        {
            if (i < bytes.Length && bytes[i] != (byte)'\n') continue;
            int length = i - lineStart;
            if (length > 0 && bytes[lineStart + length - 1] == (byte)'\r') length--;
            if (lineNumber >= headerLines && length > 0) lines.Add((lineStart, length));
            lineNumber++;
            lineStart = i + 1;
        }
        if (lineNumber < headerLines)
            throw new DataFormatException(path, bytes.Length, $"{headerLines} header line(s)", $"{lineNumber}");
        return lines;
    }
}
