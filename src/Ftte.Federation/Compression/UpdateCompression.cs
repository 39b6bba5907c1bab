using System.Buffers;
using Ftte.Core;
using Ftte.Engine;

namespace Ftte.Federation.Compression;

/// <summary>
/// An update's way over the wire: only the trained coordinates of Δ travel (the task's ranges, gathered in order),
/// encoded by the device's codec, and the server decodes them back into a model-length Δ.
/// </summary>
public static class UpdateCompression
{
    /// <summary>Sub-stream of a task's seed that stochastic rounding of its update draws from.</summary>
    private const ulong EncodingStream = 0xC0DEC;

    /// <summary>
    /// The generator a task's update is encoded with: a stream of the task's seed, so the same task encodes the same
    /// way whoever encodes it and when (a simulator worker, or a device retrying an upload).
    /// </summary>
    public static Rng EncodingRng(ulong taskSeed) => Rng.ForStream(taskSeed, EncodingStream);

    /// <summary>Coordinates covered by <paramref name="ranges"/>.</summary>
    public static int CountOf(ReadOnlySpan<WeightRange> ranges)
    {
        long n = 0;
        foreach (var r in ranges) n += r.Length;
        return checked((int)n);
    }

    /// <summary>Copies the coordinates of <paramref name="ranges"/> of a model-length vector into <paramref name="destination"/>, in order.</summary>
    public static void Gather(ReadOnlySpan<float> source, ReadOnlySpan<WeightRange> ranges, Span<float> destination)
    {
        int at = 0;
        foreach (var r in ranges)
        {
            source.Slice(r.Offset, r.Length).CopyTo(destination[at..]);
            at += r.Length;
        }
    }

    /// <summary>The inverse of <see cref="Gather"/>: writes <paramref name="source"/> back to the coordinates of <paramref name="ranges"/>.</summary>
    public static void Scatter(ReadOnlySpan<float> source, ReadOnlySpan<WeightRange> ranges, Span<float> destination)
    {
        int at = 0;
        foreach (var r in ranges)
        {
            source.Slice(at, r.Length).CopyTo(destination.Slice(r.Offset, r.Length));
            at += r.Length;
        }
    }

    /// <summary>
    /// Replaces the trained coordinates of <paramref name="delta"/> (model-length) by what a server decodes after the
    /// device encoded them with <paramref name="codec"/> — through <paramref name="feedback"/>, the device's residual,
    /// when given. Coordinates outside <paramref name="ranges"/> are untouched. Returns the encoded bytes, which equal
    /// <see cref="UpdateCodec.EncodedSize"/> of <see cref="CountOf"/>(<paramref name="ranges"/>).
    /// </summary>
    public static int RoundTrip(UpdateCodec codec, Span<float> delta, ReadOnlySpan<WeightRange> ranges, Rng rng, ErrorFeedback? feedback = null)
    {
        ArgumentNullException.ThrowIfNull(codec);
        int n = CheckedCount(ranges, delta.Length);
        int size = checked((int)codec.EncodedSize(n));
        float[] values = ArrayPool<float>.Shared.Rent(n);
        byte[] bytes = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var gathered = values.AsSpan(0, n);
            var wire = bytes.AsSpan(0, size);
            Gather(delta, ranges, gathered);
            int written = feedback is null ? codec.Encode(gathered, wire, rng) : feedback.Encode(codec, gathered, ranges, wire, rng);
            codec.Decode(wire[..written], gathered);
            Scatter(gathered, ranges, delta);
            return written;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(values);
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>
    /// A device's upload: the coordinates of <paramref name="ranges"/> of the model-length <paramref name="delta"/>,
    /// gathered in order and encoded with <paramref name="codec"/> — through <paramref name="feedback"/>, the device's
    /// residual, when given.
    /// </summary>
    public static byte[] Encode(UpdateCodec codec, ReadOnlySpan<float> delta, ReadOnlySpan<WeightRange> ranges, Rng rng, ErrorFeedback? feedback = null)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var gathered = new float[CheckedCount(ranges, delta.Length)];
        Gather(delta, ranges, gathered);
        return feedback is null ? codec.Encode(gathered, rng) : feedback.Encode(codec, gathered, ranges, rng);
    }

    /// <summary>
    /// The server's side of <see cref="Encode"/>: decodes <paramref name="data"/> into the coordinates of
    /// <paramref name="ranges"/> of the model-length <paramref name="delta"/>; other coordinates are untouched. Throws
    /// <see cref="FormatException"/> (naming the problem and its offset) unless <paramref name="data"/> is exactly a
    /// <paramref name="codec"/> encoding of that many values; then <paramref name="delta"/> is untouched too.
    /// </summary>
    public static void Decode(UpdateCodec codec, ReadOnlySpan<byte> data, ReadOnlySpan<WeightRange> ranges, Span<float> delta)
    {
        ArgumentNullException.ThrowIfNull(codec);
        // Decoded apart and scattered only when the whole encoding is valid: a bad one never leaves partial values behind.
        var gathered = codec.Decode(data, CheckedCount(ranges, delta.Length));
        Scatter(gathered, ranges, delta);
    }

    private static int CheckedCount(ReadOnlySpan<WeightRange> ranges, int length)
    {
        foreach (var r in ranges)
            if (r.Offset < 0 || r.Length < 0 || r.End > length)
                throw new ArgumentException($"Range [{r.Offset}, {r.End}) is outside the {length}-value update.", nameof(ranges));
        return CountOf(ranges);
    }
}
