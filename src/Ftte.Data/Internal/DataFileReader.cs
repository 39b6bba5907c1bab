using System.IO.Compression;

namespace Ftte.Data.Internal;

/// <summary>
/// A forward-only reader over a data file (raw or gzip, detected by its magic bytes) that counts the
/// bytes it consumed, so every failure can name the file, the offset and what was expected there.
/// </summary>
internal sealed class DataFileReader : IDisposable
{
    private readonly Stream _stream;

    private DataFileReader(string path, Stream stream)
    {
        Path = path;
        _stream = stream;
    }

    public string Path { get; }

    /// <summary>Bytes consumed so far (of the decompressed stream for gzip files).</summary>
    public long Offset { get; private set; }

    public static DataFileReader Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        int n = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        bool gzip = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        return new DataFileReader(path, gzip ? new GZipStream(file, CompressionMode.Decompress) : file);
    }

    /// <summary>Fills <paramref name="buffer"/> or throws naming <paramref name="expected"/> at the offset where the file ended.</summary>
    public void ReadExactly(Span<byte> buffer, string expected)
    {
        int got = Read(buffer);
        if (got < buffer.Length)
            throw new DataFormatException(Path, Offset, expected, "end of file (truncated)");
    }

    /// <summary>Reads up to buffer.Length bytes; fewer only at end of file.</summary>
    public int Read(Span<byte> buffer)
    {
        int total = 0;
        try
        {
            while (total < buffer.Length)
            {
                int n = _stream.Read(buffer[total..]);
                if (n == 0) break;
                total += n;
                Offset += n;
            }
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(Path, Offset, "valid gzip data", e.Message, e);
        }
        return total;
    }

    /// <summary>Throws unless the file ends here: trailing bytes mean the header and the file disagree.</summary>
    public void ExpectEnd(string after)
    {
        Span<byte> one = stackalloc byte[1];
        long at = Offset;
        if (Read(one) != 0)
            throw new DataFormatException(Path, at, $"end of file after {after}", "more data");
    }

    /// <summary>The whole (decompressed) content; for small files such as CSV tables.</summary>
    public static byte[] ReadAll(string path)
    {
        using var reader = Open(path);
        using var copy = new MemoryStream();
        var buffer = new byte[1 << 16];
        int n;
        while ((n = reader.Read(buffer)) > 0) copy.Write(buffer, 0, n);
        return copy.ToArray();
    }

    public void Dispose() => _stream.Dispose();
}
