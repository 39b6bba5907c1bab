using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Ftte.Core;
using Ftte.Federation.Compression.Internal;

namespace Ftte.Federation.Compression;

/// <summary>Wire ids of the codecs (byte 3 of every encoded update); never renumber.</summary>
public enum CodecKind : byte
{
    Float32 = 1,
    Float16 = 2,
    Q8 = 3,
    Q4 = 4,
    Q2 = 5,
    TopK = 6,
}

/// <summary>
/// How an update's trained coordinates (a float span) travel: encoded by the device, decoded by the server.
/// Every encoding starts with a 12-byte header (magic "FQ", format version, codec id, count, block field; see
/// <see cref="HeaderSize"/>); <see cref="EncodedSize"/> is exact and depends only on the count, so a simulator can
/// charge a link before the update exists. Decoding checks the whole buffer against this codec and the expected
/// count before reading a value, and throws <see cref="FormatException"/> saying what is wrong and where.
/// Codecs are immutable and thread-safe; the randomness of stochastic ones comes from the caller's <see cref="Rng"/>.
/// </summary>
/// <remarks>
/// The codecs: <see cref="Float32"/> (exact), <see cref="Float16"/> (IEEE half, round to nearest even), the
/// unbiased stochastic quantisers q8, q4 and q2 (<see cref="StochasticQuantizer"/>) and top-k sparsification
/// (<see cref="TopKCodec"/>), which is biased and meant to be used through a device's <see cref="ErrorFeedback"/>.
/// Names: <c>float32</c>, <c>float16</c>, <c>q8</c>, <c>q4</c>, <c>q2</c> (optionally <c>q8:128</c> for another
/// block size), <c>topk:0.01</c>.
/// </remarks>
public abstract class UpdateCodec
{
    /// <summary>Bytes of the header every encoding starts with.</summary>
    public const int HeaderSize = CodecHeader.Size;

    private protected UpdateCodec() { }

    /// <summary>Exact IEEE single precision: 4 bytes a value.</summary>
    public static UpdateCodec Float32 { get; } = new Float32Codec();
    /// <summary>IEEE half precision, round to nearest even: 2 bytes a value, relative error ≤ 2⁻¹¹ in the normal range.</summary>
    public static UpdateCodec Float16 { get; } = new Float16Codec();

    /// <summary>The name config files use, e.g. <c>q8</c> or <c>topk:0.01</c>; <see cref="Parse"/> reads it back.</summary>
    public abstract string Name { get; }
    /// <summary>The codec's wire id.</summary>
    public abstract CodecKind Kind { get; }
    /// <summary>E[Decode(Encode(x))] = x. False for top-k (and, by its deterministic rounding, float16).</summary>
    public abstract bool IsUnbiased { get; }
    /// <summary>
    /// Whether a device should send through an <see cref="ErrorFeedback"/> residual with this codec: true for top-k,
    /// whose dropped coordinates would otherwise be lost for good (Stich et al. 2018; Karimireddy et al. 2019).
    /// </summary>
    public virtual bool UsesErrorFeedback => false;

    /// <summary>
    /// Device memory this codec holds across tasks for <paramref name="count"/> trained values: the error-feedback
    /// residual, one float each (top-k), else nothing. It is resident while the device trains, so a task must fit its
    /// training plan plus this.
    /// </summary>
    public long ResidentBytes(int count) => UsesErrorFeedback ? 4L * count : 0;

    /// <summary>Exact byte size of an encoding of <paramref name="count"/> values, header included.</summary>
    public long EncodedSize(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return HeaderSize + BodySize(count);
    }

    /// <summary>Encodes <paramref name="values"/> into a new array of <see cref="EncodedSize"/> bytes.</summary>
    public byte[] Encode(ReadOnlySpan<float> values, Rng rng)
    {
        var bytes = new byte[checked((int)EncodedSize(values.Length))];
        Encode(values, bytes, rng);
        return bytes;
    }

    /// <summary>Encodes <paramref name="values"/> into the start of <paramref name="destination"/>; returns the bytes written (<see cref="EncodedSize"/>).</summary>
    public int Encode(ReadOnlySpan<float> values, Span<byte> destination, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        long size = EncodedSize(values.Length);
        if (destination.Length < size) CodecThrow.Destination(Name, destination.Length, size);
        CodecHeader.Write(destination, Kind, values.Length, BlockField(values.Length));
        EncodeBody(values, destination[HeaderSize..(int)size], rng);
        return (int)size;
    }

    /// <summary>Decodes an encoding that must hold exactly <paramref name="expectedCount"/> values of this codec.</summary>
    /// <exception cref="FormatException">The buffer is truncated, has trailing bytes, is not an encoded update, was
    /// encoded by another codec or for another count, or holds invalid content (a non-finite scale, a code outside
    /// the alphabet, an unordered index).</exception>
    public float[] Decode(ReadOnlySpan<byte> data, int expectedCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedCount);
        var values = new float[expectedCount];
        Decode(data, values);
        return values;
    }

    /// <summary>Decodes into <paramref name="destination"/>, whose length is the expected count (see <see cref="Decode(ReadOnlySpan{byte}, int)"/>).
    /// On error <paramref name="destination"/> may hold partial values.</summary>
    public void Decode(ReadOnlySpan<byte> data, Span<float> destination)
    {
        CodecHeader.Check(data, this, destination.Length);
        DecodeBody(data[HeaderSize..], destination);
    }

    public override string ToString() => Name;

    // ---- what each codec provides (internal: the wire ids are ours, so the hierarchy is closed) ----------------

    private protected abstract long BodySize(int count);
    /// <summary>The header's block field for <paramref name="count"/> values.</summary>
    internal abstract int BlockField(int count);
    /// <summary>What the block field means, for error messages.</summary>
    internal abstract string BlockFieldMeaning { get; }
    /// <summary><paramref name="body"/> is exactly <see cref="BodySize"/> bytes.</summary>
    private protected abstract void EncodeBody(ReadOnlySpan<float> values, Span<byte> body, Rng rng);
    /// <summary><paramref name="body"/> is exactly <see cref="BodySize"/> bytes of a header already checked.</summary>
    private protected abstract void DecodeBody(ReadOnlySpan<byte> body, Span<float> values);

    // ---- names -----------------------------------------------------------------------------------------------

    /// <summary>The codec names, as config errors list them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["float32", "float16", "q8", "q4", "q2", "topk:R"];

    /// <summary>One line saying what <see cref="Parse"/> accepts.</summary>
    public const string AllowedText = "float32, float16, q8, q4, q2 (or qB:N for blocks of N values), topk:R with 0 < R ≤ 1 (e.g. topk:0.01)";

    /// <summary>The codec called <paramref name="name"/>; throws <see cref="FormatException"/> listing the allowed names.</summary>
    public static UpdateCodec Parse(string name) =>
        TryParse(name, out var codec, out string? error) ? codec : throw new FormatException(error);

    public static bool TryParse(string? name, [NotNullWhen(true)] out UpdateCodec? codec, [NotNullWhen(false)] out string? error)
    {
        codec = null;
        string text = name?.Trim() ?? "";
        switch (text)
        {
            case "float32": codec = Float32; break;
            case "float16": codec = Float16; break;
            case "q8": codec = StochasticQuantizer.Q8; break;
            case "q4": codec = StochasticQuantizer.Q4; break;
            case "q2": codec = StochasticQuantizer.Q2; break;
        }
        if (codec is not null) { error = null; return true; }

        if (text.StartsWith("topk:", StringComparison.Ordinal))
        {
            string r = text["topk:".Length..];
            if (!double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out double ratio) || !(ratio > 0 && ratio <= 1))
            {
                error = $"codec '{text}': the kept share R of topk:R must be a number with 0 < R ≤ 1, e.g. topk:0.01; got '{r}'.";
                return false;
            }
            codec = new TopKCodec(ratio);
            error = null;
            return true;
        }
        if (text.Length > 2 && text[0] == 'q' && text.IndexOf(':') is var colon and > 1
            && int.TryParse(text.AsSpan(1, colon - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int bits) && bits is 8 or 4 or 2)
        {
            if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int block)
                || block < StochasticQuantizer.MinBlockSize || block > StochasticQuantizer.MaxBlockSize || block % 8 != 0)
            {
                error = $"codec '{text}': the block size of q{bits}:N must be a multiple of 8 in [{StochasticQuantizer.MinBlockSize}, {StochasticQuantizer.MaxBlockSize}], e.g. q{bits}:128.";
                return false;
            }
            codec = new StochasticQuantizer(bits, block);
            error = null;
            return true;
        }
        error = $"unknown codec '{name}'; expected one of {AllowedText}.";
        return false;
    }
}
