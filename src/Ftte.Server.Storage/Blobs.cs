using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Ftte.Server.Storage;

/// <summary>Float32 little-endian blobs for weights, and the run-length form for sparse deltas.</summary>
internal static class Blobs
{
    /// <summary>
    /// Zero runs at most this long stay inside a stored run: a new run header costs 8 bytes,
    /// so splitting only pays from three zeros on.
    /// </summary>
    private const int MaxInlineZeros = 2;

    public static byte[] FromFloats(ReadOnlySpan<float> values)
    {
        var bytes = new byte[checked(values.Length * sizeof(float))];
        WriteFloats(values, bytes);
        return bytes;
    }

    public static float[] ToFloats(ReadOnlySpan<byte> bytes, string what)
    {
        if (bytes.Length % sizeof(float) != 0)
            throw new StoreException($"Corrupt store: {what} has {bytes.Length} bytes, not a whole number of float32 values.");
        var values = new float[bytes.Length / sizeof(float)];
        ReadFloats(bytes, values);
        return values;
    }

    /// <summary>
    /// Encodes a delta as repeated (uint32 offset, uint32 length, length × float32), all little-endian.
    /// "Zero" means the bit pattern 0 (+0.0), so -0.0 is kept as a value and everything round-trips bitwise.
    /// </summary>
    public static byte[] EncodeDelta(ReadOnlySpan<float> delta)
    {
        ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(delta);
        var runs = new List<(int Start, int Length)>();
        int stored = 0;
        int i = 0;
        while (i < bits.Length)
        {
            while (i < bits.Length && bits[i] == 0) i++;
            if (i == bits.Length) break;
            int start = i, last = i;
            for (; i < bits.Length; i++)
            {
                if (bits[i] != 0) last = i;
                else if (i - last > MaxInlineZeros) break;
            }
            runs.Add((start, last - start + 1));
            stored += last - start + 1;
        }

        var blob = new byte[checked(runs.Count * 8 + stored * sizeof(float))];
        int at = 0;
        foreach (var (start, length) in runs)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(at), (uint)start);
            BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(at + 4), (uint)length);
            at += 8;
            WriteFloats(delta.Slice(start, length), blob.AsSpan(at, length * sizeof(float)));
            at += length * sizeof(float);
        }
        return blob;
    }

    public static float[] DecodeDelta(ReadOnlySpan<byte> blob, int length, long taskId)
    {
        if (length < 0) throw Corrupt(taskId, "negative length");
        var delta = new float[length];
        int at = 0;
        long next = 0; // runs are strictly increasing and disjoint
        while (at < blob.Length)
        {
            if (blob.Length - at < 8) throw Corrupt(taskId, "truncated run header");
            long start = BinaryPrimitives.ReadUInt32LittleEndian(blob[at..]);
            long count = BinaryPrimitives.ReadUInt32LittleEndian(blob[(at + 4)..]);
            at += 8;
            if (start < next || count == 0 || start + count > length || blob.Length - at < count * sizeof(float))
                throw Corrupt(taskId, "run out of bounds");
            ReadFloats(blob.Slice(at, (int)count * sizeof(float)), delta.AsSpan((int)start, (int)count));
            at += (int)count * sizeof(float);
            next = start + count;
        }
        return delta;
    }

    private static StoreException Corrupt(long taskId, string why) =>
        new($"Corrupt store: the delta of pending update {taskId} cannot be decoded ({why}).");

    private static void WriteFloats(ReadOnlySpan<float> values, Span<byte> destination)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(destination);
            return;
        }
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(destination[(i * 4)..], values[i]);
    }

    private static void ReadFloats(ReadOnlySpan<byte> source, Span<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            source.CopyTo(MemoryMarshal.AsBytes(values));
            return;
        }
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(i * 4)..]);
    }
}
