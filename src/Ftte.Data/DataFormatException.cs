namespace Ftte.Data;

/// <summary>
/// A data file is corrupt, truncated or not in the expected format. The message always names the
/// file, the byte offset where reading failed and what was expected there, so that a user can tell a
/// bad download from a wrong file.
/// </summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string filePath, long offset, string expected, string? found = null, Exception? inner = null)
        : base(Format(filePath, offset, expected, found), inner)
    {
        FilePath = filePath;
        Offset = offset;
        Expected = expected;
    }

    /// <summary>The file that failed to read.</summary>
    public string FilePath { get; }

    /// <summary>Byte offset of the failure (in the decompressed stream for .gz files).</summary>
    public long Offset { get; }

    /// <summary>What the reader expected at <see cref="Offset"/>.</summary>
    public string Expected { get; }

    private static string Format(string filePath, long offset, string expected, string? found)
    {
        string where = filePath.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? "decompressed byte offset" : "byte offset";
        string message = $"{filePath}: at {where} {offset}: expected {expected}";
        return found is null ? message + "." : $"{message}, found {found}.";
    }
}
