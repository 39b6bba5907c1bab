using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Ftte.Engine;

/// <summary>
/// Parameters to and from bytes: all tensors, or only a trainable subset (the selected output channels).
/// Layout, little-endian:
/// <code>
/// "FTTP" | u16 version (1) | u16 reserved (0) | i32 tensor count
/// per tensor: u16 name bytes | UTF-8 name | u8 rank | i32 dims[rank]
///             | i32 selected channels (-1 = all) | i32 channel[selected] | f32 data[selected × channel size]
/// </code>
/// Reading validates the whole buffer against the model before writing a single weight, so a truncated
/// or mismatched payload is rejected with the model untouched.
/// </summary>
public static class ParameterSerializer
{
    public const ushort Version = 1;
    private static ReadOnlySpan<byte> Magic => "FTTP"u8;

    /// <summary>Serializes every tensor (subset null) or only the trained channels of a trainable set.</summary>
    public static byte[] Serialize(Model model, TrainableSet? subset = null)
    {
        var entries = Entries(model, subset);
        var buffer = new byte[SizeOf(entries)];
        Write(entries, buffer);
        return buffer;
    }

    /// <summary>Exact byte size of <see cref="Serialize"/>'s output: what a link has to carry.</summary>
    public static long SerializedSize(Model model, TrainableSet? subset = null) => SizeOf(Entries(model, subset));

    private static List<(Parameter P, ChannelSelection? S)> Entries(Model model, TrainableSet? subset)
    {
        var list = new List<(Parameter, ChannelSelection?)>();
        if (subset is null)
        {
            foreach (var p in model.Parameters) list.Add((p, null));
            return list;
        }
        var selections = subset.Resolve(model);
        for (int i = 0; i < selections.Length; i++)
            if (selections[i] is { } s) list.Add((model.Parameters[i], s.IsAll ? null : s));
        return list;
    }

    private static long SizeOf(List<(Parameter P, ChannelSelection? S)> entries)
    {
        long size = 4 + 2 + 2 + 4;
        foreach (var (p, s) in entries)
        {
            size += 2 + Encoding.UTF8.GetByteCount(p.Name) + 1 + 4L * p.Shape.Rank + 4;
            size += s is null ? 4L * p.Count : 4L * s.Count + 4L * s.Elements;
        }
        return size;
    }

    private static void Write(List<(Parameter P, ChannelSelection? S)> entries, Span<byte> dst)
    {
        Magic.CopyTo(dst);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(dst[6..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(dst[8..], entries.Count);
        int o = 12;
        foreach (var (p, s) in entries)
        {
            int nameBytes = Encoding.UTF8.GetBytes(p.Name, dst[(o + 2)..]);
            BinaryPrimitives.WriteUInt16LittleEndian(dst[o..], (ushort)nameBytes);
            o += 2 + nameBytes;
            dst[o++] = (byte)p.Shape.Rank;
            foreach (int d in p.Shape.Dims) { BinaryPrimitives.WriteInt32LittleEndian(dst[o..], d); o += 4; }
            BinaryPrimitives.WriteInt32LittleEndian(dst[o..], s is null ? -1 : s.Count);
            o += 4;
            if (s is null)
            {
                o += WriteFloats(p.Data, dst[o..]);
                continue;
            }
            foreach (int c in s.Channels) { BinaryPrimitives.WriteInt32LittleEndian(dst[o..], c); o += 4; }
            foreach (int c in s.Channels) o += WriteFloats(p.Channel(c), dst[o..]);
        }
    }

    private static int WriteFloats(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var bytes = MemoryMarshal.AsBytes(src);
        if (BitConverter.IsLittleEndian) bytes.CopyTo(dst);
        else for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst[(4 * i)..], src[i]);
        return bytes.Length;
    }

    /// <summary>
    /// As <see cref="Deserialize"/>, but the payload must hold exactly what <see cref="Serialize"/> writes for
    /// <paramref name="subset"/>: the same tensors in the same order with the same channels. A server uses it on
    /// an update for a task, so a payload for another trainable set is refused rather than partly read.
    /// </summary>
    public static void DeserializeExact(Model model, TrainableSet? subset, ReadOnlySpan<byte> data)
    {
        var entries = Entries(model, subset);
        long expected = SizeOf(entries);
        if (data.Length != expected)
            throw new FormatException($"Payload has {data.Length:N0} bytes; the trainable set '{subset?.ToString() ?? "all"}' of model '{model.Name}' needs exactly {expected:N0}.");
        var template = new byte[expected];
        Write(entries, template);
        if (!data[..12].SequenceEqual(template.AsSpan(0, 12)))
            throw new FormatException("Payload header (magic, version, tensor count) does not match the task's trainable set.");
        int o = 12;
        foreach (var (p, sel) in entries)
        {
            // Everything but the float data must match: name, shape, channel list.
            int header = 2 + Encoding.UTF8.GetByteCount(p.Name) + 1 + 4 * p.Shape.Rank + 4 + (sel is null ? 0 : 4 * sel.Count);
            if (!data.Slice(o, header).SequenceEqual(template.AsSpan(o, header)))
                throw new FormatException($"Payload entry at offset {o} does not match tensor '{p.Name}' of the task's trainable set (name, shape or channels differ).");
            o += header + (sel is null ? 4 * p.Count : 4 * sel.Elements);
        }
        Deserialize(model, data);
    }

    /// <summary>
    /// Reads a payload into the model's weights (all tensors it names, all or selected channels).
    /// Returns the number of tensors read. Throws <see cref="FormatException"/> naming the byte offset and
    /// what was expected when the buffer is truncated, foreign, or does not match the model.
    /// </summary>
    public static int Deserialize(Model model, ReadOnlySpan<byte> data)
    {
        // Pass 1 validates and records where each tensor's floats are; pass 2 copies. Nothing is written on error.
        var reader = new Reader(data);
        if (data.Length < 12 || !data[..4].SequenceEqual(Magic))
            throw new FormatException($"Not an FTTE parameter payload: expected the magic \"FTTP\" at offset 0 of a {data.Length}-byte buffer.");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
        if (version != Version)
            throw new FormatException($"Parameter payload version {version} at offset 4 is not supported (this build reads version {Version}).");
        reader.Position = 8;
        int count = reader.Int32("tensor count");
        if (count < 0 || count > model.Parameters.Count)
            throw new FormatException($"Parameter payload declares {count} tensors at offset 8; model '{model.Name}' has {model.Parameters.Count}.");
        var plan = new (Parameter P, int Channels, int ChannelsAt, int DataAt)[count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int t = 0; t < count; t++)
        {
            int at = reader.Position;
            int nameLength = reader.UInt16("name length");
            string name = Encoding.UTF8.GetString(reader.Bytes(nameLength, "tensor name"));
            if (!model.TryGetParameter(name, out var p))
                throw new FormatException($"Tensor '{name}' at offset {at} is not a parameter of model '{model.Name}'.");
            if (!seen.Add(name)) throw new FormatException($"Tensor '{name}' appears twice (second time at offset {at}).");
            int rank = reader.Byte("rank");
            if (rank != p.Shape.Rank) throw new FormatException($"Tensor '{name}' at offset {at} has rank {rank}; the model's is {p.Shape}.");
            for (int d = 0; d < rank; d++)
            {
                int dim = reader.Int32("dimension");
                if (dim != p.Shape[d]) throw new FormatException($"Tensor '{name}' at offset {at}: dimension {d} is {dim}; the model's shape is {p.Shape}.");
            }
            int selected = reader.Int32("selected channel count");
            if (selected < -1 || selected > p.OutputChannels)
                throw new FormatException($"Tensor '{name}': {selected} selected channels at offset {reader.Position - 4}; it has {p.OutputChannels}.");
            int channelsAt = reader.Position;
            if (selected >= 0)
            {
                int previous = -1;
                for (int j = 0; j < selected; j++)
                {
                    int c = reader.Int32("channel index");
                    if (c <= previous || c >= p.OutputChannels)
                        throw new FormatException($"Tensor '{name}': channel {c} at offset {reader.Position - 4} is out of order or outside [0, {p.OutputChannels - 1}].");
                    previous = c;
                }
            }
            int dataAt = reader.Position;
            long floats = selected < 0 ? p.Count : (long)selected * p.ChannelSize;
            reader.Bytes(checked((int)(floats * 4)), $"{floats} floats of '{name}'");
            plan[t] = (p, selected, channelsAt, dataAt);
        }
        if (reader.Position != data.Length)
            throw new FormatException($"Parameter payload has {data.Length - reader.Position} unexpected trailing bytes at offset {reader.Position}.");

        foreach (var (p, selected, channelsAt, dataAt) in plan)
        {
            if (selected < 0) { ReadFloats(data.Slice(dataAt, p.Count * 4), p.Data); continue; }
            for (int j = 0; j < selected; j++)
            {
                int c = BinaryPrimitives.ReadInt32LittleEndian(data[(channelsAt + 4 * j)..]);
                ReadFloats(data.Slice(dataAt + 4 * j * p.ChannelSize, 4 * p.ChannelSize), p.Channel(c));
            }
        }
        return count;
    }

    private static void ReadFloats(ReadOnlySpan<byte> src, Span<float> dst)
    {
        if (BitConverter.IsLittleEndian) src.CopyTo(MemoryMarshal.AsBytes(dst));
        else for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        public int Position;

        public ReadOnlySpan<byte> Bytes(int n, string what)
        {
            if (n < 0 || Position > _data.Length - n)
                throw new FormatException($"Parameter payload truncated: expected {what} ({n} bytes) at offset {Position}, but the buffer ends at {_data.Length}.");
            var s = _data.Slice(Position, n);
            Position += n;
            return s;
        }

        public int Int32(string what) => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4, what));
        public int UInt16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, what));
        public int Byte(string what) => Bytes(1, what)[0];
    }
}
