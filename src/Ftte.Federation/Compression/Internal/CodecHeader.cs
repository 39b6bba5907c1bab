using System.Buffers.Binary;

namespace Ftte.Federation.Compression.Internal;

/// <summary>
/// The 12 bytes in front of every encoded update, little-endian:
/// <code>
/// "FQ" | u8 format version (1) | u8 codec id (<see cref="CodecKind"/>) | i32 count | i32 block
/// </code>
/// <c>block</c> is the quantisers' values per scale, top-k's k, and 0 for float32/float16. Reading checks every
/// field against the decoder and the expected count, then the exact total length, before any body byte is read.
/// </summary>
internal static class CodecHeader
{
    public const int Size = 12;
    public const byte FormatVersion = 1;
    private const byte Magic0 = (byte)'F', Magic1 = (byte)'Q';

    public static void Write(Span<byte> destination, CodecKind kind, int count, int block)
    {
        destination[0] = Magic0;
        destination[1] = Magic1;
        destination[2] = FormatVersion;
        destination[3] = (byte)kind;
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], count);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], block);
    }

    /// <summary>Throws <see cref="FormatException"/> unless <paramref name="data"/> is exactly a <paramref name="codec"/> encoding of <paramref name="count"/> values.</summary>
    public static void Check(ReadOnlySpan<byte> data, UpdateCodec codec, int count)
    {
        if (data.Length < Size)
            CodecThrow.Format($"Compressed update truncated: {data.Length} bytes, but the header alone is {Size}.");
        if (data[0] != Magic0 || data[1] != Magic1)
            CodecThrow.Format($"Not a compressed update: expected the magic \"FQ\" at offset 0, found 0x{data[0]:X2} 0x{data[1]:X2}.");
        if (data[2] != FormatVersion)
            CodecThrow.Format($"Compressed update format version {data[2]} at offset 2 is not supported (this build reads version {FormatVersion}).");
        if (data[3] != (byte)codec.Kind)
        {
            string found = Enum.IsDefined((CodecKind)data[3]) ? $"{((CodecKind)data[3]).ToString().ToLowerInvariant()} (id {data[3]})" : $"unknown codec id {data[3]}";
            CodecThrow.Format($"Compressed update is encoded with {found} at offset 3; this decoder is {codec.Name} (id {(byte)codec.Kind}).");
        }
        int declared = BinaryPrimitives.ReadInt32LittleEndian(data[4..]);
        if (declared != count)
            CodecThrow.Format($"Compressed update holds {declared} values (offset 4); {count} were expected.");
        int block = BinaryPrimitives.ReadInt32LittleEndian(data[8..]);
        int expectedBlock = codec.BlockField(count);
        if (block != expectedBlock)
            CodecThrow.Format($"Compressed update has block field {block} at offset 8; {codec.Name} of {count} values writes {expectedBlock} ({codec.BlockFieldMeaning}).");
        long size = codec.EncodedSize(count);
        if (data.Length != size)
            CodecThrow.Format(data.Length < size
                ? $"Compressed update truncated: {data.Length} bytes, but {codec.Name} of {count} values takes exactly {size}."
                : $"Compressed update has {data.Length - size} unexpected trailing bytes: {codec.Name} of {count} values takes exactly {size}.");
    }
}
