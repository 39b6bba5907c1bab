using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics.Tensors;
using Ftte.Core;
using Ftte.Federation.Compression.Internal;

namespace Ftte.Federation.Compression;

/// <summary>
/// Top-k sparsification: keeps the k = ⌈R·n⌉ values of largest magnitude (at least one when n &gt; 0) exactly, with
/// their indices; the others decode as 0. It is biased — what it drops is lost — so a device sends through its own
/// <see cref="ErrorFeedback"/>, which adds what was not sent to the next update (Stich et al. 2018, "Sparsified SGD
/// with memory"; Karimireddy et al. 2019, EF-SGD); <see cref="UpdateCodec.UsesErrorFeedback"/> says so.
/// Ties at the threshold go to the lower index, so an encoding is a function of the values alone.
/// Body: <c>index[k]</c> ascending (u16 when n ≤ 65,536, else u32) <c>| f32 value[k]</c>; the header's block field is k,
/// so the size is exact: 12 + k·(2 or 4) + 4k bytes.
/// </summary>
public sealed class TopKCodec : UpdateCodec
{
    /// <param name="ratio">R ∈ (0, 1]: the share of values kept.</param>
    public TopKCodec(double ratio)
    {
        if (!(ratio > 0 && ratio <= 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "Top-k keeps a share R with 0 < R ≤ 1 of the values, e.g. 0.01.");
        Ratio = ratio;
        Name = "topk:" + ratio.ToString("R", CultureInfo.InvariantCulture);
    }

    public double Ratio { get; }
    public override string Name { get; }
    public override CodecKind Kind => CodecKind.TopK;
    public override bool IsUnbiased => false;
    public override bool UsesErrorFeedback => true;

    /// <summary>k for <paramref name="count"/> values: ⌈R·n⌉ clamped to [1, n] (0 for n = 0).</summary>
    public int KeptCount(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        // The 1e-9 keeps R·n that is an integer up to rounding (0.01 × 300) from rounding up to one more.
        return count == 0 ? 0 : Math.Clamp((int)Math.Ceiling(Ratio * count - 1e-9), 1, count);
    }

    private static int IndexBytes(int count) => count <= 1 << 16 ? 2 : 4;

    internal override int BlockField(int count) => KeptCount(count);
    internal override string BlockFieldMeaning => $"k, the values kept: ⌈{Name[5..]}·n⌉";
    private protected override long BodySize(int count) => (long)KeptCount(count) * (IndexBytes(count) + 4);

    private protected override void EncodeBody(ReadOnlySpan<float> values, Span<byte> body, Rng rng)
    {
        int n = values.Length, k = KeptCount(n);
        if (k == 0) return;
        if (!float.IsFinite(TensorPrimitives.MaxMagnitude(values))) CodecThrow.NotFinite(Name, values, 0);
        float[] rented = ArrayPool<float>.Shared.Rent(n);
        try
        {
            var magnitudes = rented.AsSpan(0, n);
            TensorPrimitives.Abs(values, magnitudes);
            // t = the k-th largest |x|: everything above t is kept, then ties equal to t in index order until k.
            float t = SelectAscending(magnitudes, n - k);
            int above = 0;
            foreach (float x in values) if (MathF.Abs(x) > t) above++;
            int ties = k - above;
            int width = IndexBytes(n);
            var indices = body[..(k * width)];
            var kept = body[(k * width)..];
            int j = 0;
            for (int i = 0; i < n && j < k; i++)
            {
                float a = MathF.Abs(values[i]);
                if (a < t || (a == t && ties-- <= 0)) continue;
                if (width == 2) BinaryPrimitives.WriteUInt16LittleEndian(indices[(2 * j)..], (ushort)i);
                else BinaryPrimitives.WriteInt32LittleEndian(indices[(4 * j)..], i);
                BinaryPrimitives.WriteSingleLittleEndian(kept[(4 * j)..], values[i]);
                j++;
            }
            System.Diagnostics.Debug.Assert(j == k, "top-k selected a different number of values than k");
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    private protected override void DecodeBody(ReadOnlySpan<byte> body, Span<float> values)
    {
        int n = values.Length, k = KeptCount(n), width = IndexBytes(n);
        values.Clear();
        var indices = body[..(k * width)];
        var kept = body[(k * width)..];
        int previous = -1;
        for (int j = 0; j < k; j++)
        {
            int i = width == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(indices[(2 * j)..]) : BinaryPrimitives.ReadInt32LittleEndian(indices[(4 * j)..]);
            if (i <= previous || i >= n)
                CodecThrow.Format($"{Name}: index {i} (entry {j}, offset {HeaderSize + j * width}) is {(i >= n || i < 0 ? $"outside [0, {n - 1}]" : $"not above the previous index {previous}")}; indices are ascending and unique.");
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(kept[(4 * j)..]);
            previous = i;
        }
    }

    /// <summary>
    /// The value that would be at <paramref name="nth"/> if <paramref name="a"/> were sorted ascending (Hoare's
    /// quickselect, median-of-three pivots; reorders <paramref name="a"/>). Expected O(n); after 64 rounds without
    /// converging it sorts what is left, so the worst case stays O(n log n).
    /// </summary>
    internal static float SelectAscending(Span<float> a, int nth)
    {
        int lo = 0, hi = a.Length - 1;
        for (int round = 0; hi > lo; round++)
        {
            if (round == 64)
            {
                a[lo..(hi + 1)].Sort();
                break;
            }
            int mid = lo + (hi - lo) / 2;
            if (a[mid] < a[lo]) (a[mid], a[lo]) = (a[lo], a[mid]);
            if (a[hi] < a[lo]) (a[hi], a[lo]) = (a[lo], a[hi]);
            if (a[hi] < a[mid]) (a[hi], a[mid]) = (a[mid], a[hi]);
            float pivot = a[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j)
                {
                    (a[i], a[j]) = (a[j], a[i]);
                    i++;
                    j--;
                }
            }
            // Now a[lo..j] ≤ pivot ≤ a[i..hi], and everything strictly between j and i equals the pivot.
            if (nth <= j) hi = j;
            else if (nth >= i) lo = i;
            else return a[nth];
        }
        return a[nth];
    }
}
