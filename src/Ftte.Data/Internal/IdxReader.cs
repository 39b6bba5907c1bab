using System.Buffers.Binary;

namespace Ftte.Data.Internal;

/// <summary>
/// Reads the IDX format of LeCun's MNIST files (raw or gzipped): two zero bytes, a type code, the
/// number of dimensions, each dimension as a big-endian int32, then the values big-endian, row-major.
/// </summary>
internal static class IdxReader
{
    internal sealed record IdxArray(int[] Dimensions, float[] Values, int ElementSize)
    {
        /// <summary>Values per item: the product of all dimensions after the first.</summary>
        public int ItemSize => Dimensions.Skip(1).Aggregate(1, (a, b) => a * b);
    }

    public static IdxArray Read(string path)
    {
        using var reader = DataFileReader.Open(path);
        Span<byte> header = stackalloc byte[4];
        reader.ReadExactly(header, "the 4-byte IDX magic number");
        if (header[0] != 0 || header[1] != 0)
            throw new DataFormatException(path, 0, "an IDX file starting with two zero bytes", $"0x{header[0]:x2}{header[1]:x2}");
        int elementSize = header[2] switch
        {
            0x08 or 0x09 => 1,
            0x0B => 2,
            0x0C or 0x0D => 4,
            0x0E => 8,
            _ => throw new DataFormatException(path, 2, "an IDX type code (0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)", $"0x{header[2]:x2}"),
        };
        byte type = header[2];
        int rank = header[3];
        if (rank is < 1 or > 4)
            throw new DataFormatException(path, 3, "between 1 and 4 dimensions", rank.ToString());

        var dims = new int[rank];
        Span<byte> word = stackalloc byte[4];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            long at = reader.Offset;
            reader.ReadExactly(word, $"the size of dimension {d}");
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[d] < 0)
                throw new DataFormatException(path, at, $"a non-negative size for dimension {d}", dims[d].ToString());
            count *= dims[d];
        }
        if (count > Array.MaxLength)
            throw new DataFormatException(path, 4, "at most 2^31 values", count.ToString());

        var values = new float[count];
        ReadValues(reader, type, elementSize, values, dims);
        reader.ExpectEnd($"{dims[0]} items");
        return new IdxArray(dims, values, elementSize);
    }

    private static void ReadValues(DataFileReader reader, byte type, int elementSize, float[] values, int[] dims)
    {
        // Chunked so a 47 MB image file converts straight into the float array, with no byte copy of it.
        long itemBytes = (long)elementSize * (values.Length / Math.Max(dims[0], 1));
        long dataStart = reader.Offset;
        var buffer = new byte[1 << 16]; // a multiple of every element size
        int done = 0;
        while (done < values.Length)
        {
            int take = (int)Math.Min(buffer.Length / elementSize, values.Length - done);
            Span<byte> chunk = buffer.AsSpan(0, take * elementSize);
            if (reader.Read(chunk) < chunk.Length)
            {
                long item = itemBytes == 0 ? 0 : (reader.Offset - dataStart) / itemBytes;
                throw new DataFormatException(reader.Path, reader.Offset,
                    $"{(long)values.Length * elementSize} bytes of values after the {dataStart}-byte header (item {item} of {dims[0]} is incomplete)",
                    "end of file (truncated)");
            }
            Span<float> dst = values.AsSpan(done, take);
            switch (type)
            {
                case 0x08: for (int i = 0; i < take; i++) dst[i] = chunk[i]; break;
                case 0x09: for (int i = 0; i < take; i++) dst[i] = (sbyte)chunk[i]; break;
                case 0x0B: for (int i = 0; i < take; i++) dst[i] = BinaryPrimitives.ReadInt16BigEndian(chunk[(2 * i)..]); break;
                case 0x0C: for (int i = 0; i < take; i++) dst[i] = BinaryPrimitives.ReadInt32BigEndian(chunk[(4 * i)..]); break;
                case 0x0D: for (int i = 0; i < take; i++) dst[i] = BinaryPrimitives.ReadSingleBigEndian(chunk[(4 * i)..]); break;
                default: for (int i = 0; i < take; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleBigEndian(chunk[(8 * i)..]); break;
            }
            done += take;
        }
    }

    /// <summary>Reads an IDX label file: one dimension, integral values in [0, classCount).</summary>
    public static int[] ReadLabels(string path, int classCount)
    {
        IdxArray array = Read(path);
        if (array.Dimensions.Length != 1)
            throw new DataFormatException(path, 3, "a label file with 1 dimension", $"{array.Dimensions.Length} dimensions");
        var labels = new int[array.Values.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            float v = array.Values[i];
            if (v < 0 || v >= classCount || v != MathF.Floor(v))
                throw new DataFormatException(path, 8 + (long)i * array.ElementSize, $"a class label in [0, {classCount})", v.ToString(System.Globalization.CultureInfo.InvariantCulture));
            labels[i] = (int)v;
        }
        return labels;
    }
}
