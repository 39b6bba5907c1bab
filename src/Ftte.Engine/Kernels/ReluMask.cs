using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Ftte.Engine.Kernels;

/// <summary>
/// ReLU's backward needs one bit per element — did the input pass? — not the 32-bit output (Lin et al. 2022 count "ReLU
/// masks" in training memory; TinyTL, Cai et al. 2020). Bit i of word i/32 is set ⇔ 0 &lt; y_i &lt; cap. The vector paths
/// (Vector256: 8 lanes per compare, 4 compares per word) and the scalar path give identical bits and identical gradients:
/// every operation is a compare or a select, nothing rounds.
/// </summary>
internal static class ReluMask
{
    /// <summary>Words (32 bits each, stored in float-sized arena slots) for n elements.</summary>
    public static long Words(long n) => (n + 31) / 32;

    /// <summary>Writes the mask of y into bits (Words(y.Length) words).</summary>
    public static void Pack(ReadOnlySpan<float> y, Span<uint> bits, float cap) => Pack(y, bits, cap, Vector256.IsHardwareAccelerated);

    internal static void Pack(ReadOnlySpan<float> y, Span<uint> bits, float cap, bool vector)
    {
        int n = y.Length, full = n / 32, w = 0;
        if (vector)
        {
            ref float y0 = ref MemoryMarshal.GetReference(y);
            var zero = Vector256<float>.Zero;
            var capV = Vector256.Create(cap);
            for (; w < full; w++)
            {
                uint word = 0;
                for (int k = 0; k < 4; k++)
                {
                    var v = Vector256.LoadUnsafe(ref y0, (nuint)(32 * w + 8 * k));
                    word |= (Vector256.GreaterThan(v, zero) & Vector256.LessThan(v, capV)).ExtractMostSignificantBits() << (8 * k);
                }
                bits[w] = word;
            }
        }
        for (; w < (int)Words(n); w++)
        {
            uint word = 0;
            for (int i = 32 * w, end = Math.Min(n, 32 * w + 32); i < end; i++)
                if (y[i] > 0f && y[i] < cap) word |= 1u << (i - 32 * w);
            bits[w] = word;
        }
    }

    /// <summary>dx = dy where the bit is set, else 0: every element written, dx's old contents never read.</summary>
    public static void Copy(ReadOnlySpan<uint> bits, ReadOnlySpan<float> dy, Span<float> dx) => Apply(bits, dy, dx, accumulate: false, Vector256.IsHardwareAccelerated);

    /// <summary>dx += dy where the bit is set.</summary>
    public static void Accumulate(ReadOnlySpan<uint> bits, ReadOnlySpan<float> dy, Span<float> dx) => Apply(bits, dy, dx, accumulate: true, Vector256.IsHardwareAccelerated);

    internal static void Apply(ReadOnlySpan<uint> bits, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate, bool vector)
    {
        int n = dy.Length, full = n / 32, w = 0;
        if (dx.Length < n || bits.Length < Words(n)) throw new ArgumentException("ReLU mask: dx or the mask is shorter than dy.");
        if (vector)
        {
            ref float dy0 = ref MemoryMarshal.GetReference(dy);
            ref float dx0 = ref MemoryMarshal.GetReference(dx);
            var lanes = Vector256.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u);
            for (; w < full; w++)
            {
                uint word = bits[w];
                for (int k = 0; k < 4; k++)
                {
                    nuint at = (nuint)(32 * w + 8 * k);
                    var on = Vector256.Equals(Vector256.Create(word >> (8 * k)) & lanes, lanes).AsSingle();
                    var g = Vector256.LoadUnsafe(ref dy0, at) & on;
                    if (accumulate) g += Vector256.LoadUnsafe(ref dx0, at);
                    g.StoreUnsafe(ref dx0, at);
                }
            }
        }
        for (int i = 32 * w; i < n; i++)
        {
            bool on = (bits[i >> 5] & (1u << (i & 31))) != 0;
            if (accumulate) { if (on) dx[i] += dy[i]; }
            else dx[i] = on ? dy[i] : 0f;
        }
    }

    /// <summary>The words of a float-slot arena span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<uint> AsWords(Span<float> saved) => MemoryMarshal.Cast<float, uint>(saved);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<uint> AsWords(ReadOnlySpan<float> saved) => MemoryMarshal.Cast<float, uint>(saved);
}
