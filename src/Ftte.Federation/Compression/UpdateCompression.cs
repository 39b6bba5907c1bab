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
        int n = CountOf(ranges);
        foreach (var r in ranges)
            if (r.Offset < 0 || r.Length < 0 || r.End > delta.Length)
                throw new ArgumentException($"Range [{r.Offset}, {r.End}) is outside the {delta.Length}-value update.", nameof(ranges));
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
}
