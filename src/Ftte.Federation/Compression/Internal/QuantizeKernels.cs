using System.Numerics;

namespace Ftte.Federation.Compression.Internal;

/// <summary>The fused loops of the stochastic quantiser: rounding, packing and unpacking of b-bit codes.</summary>
internal static class QuantizeKernels
{
    /// <summary>
    /// Stochastic rounding (QSGD's randomised rounding, Alistarh et al. 2017): for y with ⌊y⌋ = l and p = y − l,
    /// q = l + 1 with probability p, else l — so E[q] = l + p = y. The uniform draws u ∈ [0, 1) come from the
    /// caller (one per value), which keeps this loop free of the generator and identical on both paths:
    /// q = l + [u &lt; p]. (n) → (n); <paramref name="q"/> may alias <paramref name="y"/>.
    /// </summary>
    public static void RoundStochastic(ReadOnlySpan<float> y, ReadOnlySpan<float> u, Span<float> q)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var yv = new Vector<float>(y[i..]);
                var l = Vector.Floor(yv);
                var up = Vector.LessThan(new Vector<float>(u[i..]), yv - l);
                (l + Vector.ConditionalSelect(up, Vector<float>.One, Vector<float>.Zero)).CopyTo(q[i..]);
            }
        }
        RoundStochasticScalar(y[i..], u[i..], q[i..]);
    }

    /// <summary>The scalar path of <see cref="RoundStochastic"/> (also its tail); the two agree bit for bit.</summary>
    public static void RoundStochasticScalar(ReadOnlySpan<float> y, ReadOnlySpan<float> u, Span<float> q)
    {
        for (int i = 0; i < y.Length; i++)
        {
            float l = MathF.Floor(y[i]);
            q[i] = u[i] < y[i] - l ? l + 1f : l;
        }
    }

    /// <summary>
    /// Packs integer levels q ∈ [−s, s] as offset codes q + s of <paramref name="bits"/> bits, value i at bit
    /// (i·bits mod 8) of byte ⌊i·bits/8⌋. Bits after the last code of the final byte are zero.
    /// </summary>
    public static void Pack(ReadOnlySpan<float> q, int s, int bits, Span<byte> codes)
    {
        if (bits == 8)
        {
            for (int i = 0; i < q.Length; i++) codes[i] = (byte)((int)q[i] + s);
            return;
        }
        int perByte = 8 / bits;
        int full = q.Length / perByte;
        for (int j = 0; j < full; j++)
        {
            int b = 0;
            for (int k = 0; k < perByte; k++) b |= ((int)q[j * perByte + k] + s) << (k * bits);
            codes[j] = (byte)b;
        }
        if (full * perByte < q.Length)
        {
            int b = 0;
            for (int k = 0; full * perByte + k < q.Length; k++) b |= ((int)q[full * perByte + k] + s) << (k * bits);
            codes[full] = (byte)b;
        }
    }

    /// <summary>
    /// Unpacks <paramref name="values"/>.Length offset codes and scales them: x̂ = (code − s)·step, the product taken in
    /// double so that x̂ is q·m/s correctly rounded even for a subnormal block scale m. Returns the index of the first
    /// code above 2s (outside the symmetric alphabet), or −1 when every code is valid.
    /// </summary>
    public static int Unpack(ReadOnlySpan<byte> codes, int s, int bits, double step, Span<float> values)
    {
        int max = 2 * s;
        if (bits == 8)
        {
            for (int i = 0; i < values.Length; i++)
            {
                int c = codes[i];
                if (c > max) return i;
                values[i] = (float)((c - s) * step);
            }
            return -1;
        }
        // A byte at a time, its codes low bits first (no division per value).
        int perByte = 8 / bits, mask = (1 << bits) - 1;
        for (int j = 0, i = 0; i < values.Length; j++)
        {
            int b = codes[j];
            for (int k = 0; k < perByte && i < values.Length; k++, i++, b >>= bits)
            {
                int c = b & mask;
                if (c > max) return i;
                values[i] = (float)((c - s) * step);
            }
        }
        return -1;
    }
}
