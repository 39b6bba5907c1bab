using System.Diagnostics.CodeAnalysis;

namespace Ftte.Federation.Compression.Internal;

/// <summary>Cold throw paths, kept out of the codecs' loops.</summary>
internal static class CodecThrow
{
    [DoesNotReturn]
    public static void Format(string message) => throw new FormatException(message);

    [DoesNotReturn]
    public static void NotFinite(string codec, ReadOnlySpan<float> values, int offset)
    {
        int i = 0;
        while (i < values.Length && float.IsFinite(values[i])) i++;
        throw new ArgumentException($"{codec} needs finite values; value {offset + i} is {(i < values.Length ? values[i] : float.NaN)}.", "values");
    }

    [DoesNotReturn]
    public static void Destination(string codec, int length, long needed) =>
        throw new ArgumentException($"The destination has {length} bytes; {codec} needs {needed}.", "destination");
}
