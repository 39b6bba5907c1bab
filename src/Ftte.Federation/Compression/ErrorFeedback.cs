using System.Buffers;
using System.Numerics.Tensors;
using Ftte.Core;
using Ftte.Engine;

namespace Ftte.Federation.Compression;

/// <summary>
/// Error feedback: the residual a device keeps of what its compressed updates did not carry (Stich et al. 2018,
/// "Sparsified SGD with memory"; Karimireddy et al. 2019, "Error feedback fixes SignSGD"). For each update Δ:
/// <code>
/// p = Δ + e         what should be sent
/// send C(p)         the codec's encoding
/// e ← p − D(C(p))   what was not sent, carried into the next update
/// </code>
/// so the sum of what was sent over T updates equals the sum of the updates minus the current residual:
/// Σ D(C(p_t)) = Σ Δ_t − e_T, and e stays bounded for a contracting codec such as top-k.
/// <para>
/// Device state: one object per device, owned by it (never shared between devices, not thread-safe). The residual
/// covers the coordinates the device sends, described by a layout of model ranges; when a task sends another layout
/// (the strategy changed the trainable set), coordinates in both keep their residual, new ones start at 0 and the
/// residual of coordinates no longer sent is dropped — the device keeps memory only for what it trains.
/// </para>
/// </summary>
public sealed class ErrorFeedback
{
    private float[] _residual = [];
    private WeightRange[] _layout = [];

    /// <summary>e over <see cref="Layout"/>'s coordinates, in layout order.</summary>
    public ReadOnlySpan<float> Residual => _residual;
    /// <summary>The model ranges <see cref="Residual"/> covers (empty before the first update).</summary>
    public ReadOnlySpan<WeightRange> Layout => _layout;
    /// <summary>‖e‖₂.</summary>
    public double ResidualNorm => Math.Sqrt(TensorPrimitives.SumOfSquares(_residual));

    /// <summary>Encodes Δ + e with <paramref name="codec"/> (layout: the whole vector) and keeps what was not sent.</summary>
    public byte[] Encode(UpdateCodec codec, ReadOnlySpan<float> update, Rng rng) =>
        Encode(codec, update, [new WeightRange(0, update.Length)], rng);

    /// <summary>As <see cref="Encode(UpdateCodec, ReadOnlySpan{float}, Rng)"/>, for an update holding the model coordinates of <paramref name="layout"/>.</summary>
    public byte[] Encode(UpdateCodec codec, ReadOnlySpan<float> update, ReadOnlySpan<WeightRange> layout, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var bytes = new byte[checked((int)codec.EncodedSize(update.Length))];
        Encode(codec, update, layout, bytes, rng);
        return bytes;
    }

    /// <summary>
    /// Encodes Δ + e into <paramref name="destination"/> and sets e to what the encoding did not carry; returns the
    /// bytes written. <paramref name="update"/> holds the coordinates of <paramref name="layout"/>, in order. If the
    /// codec throws (a non-finite value), the residual is left as it was.
    /// </summary>
    public int Encode(UpdateCodec codec, ReadOnlySpan<float> update, ReadOnlySpan<WeightRange> layout, Span<byte> destination, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(codec);
        long covered = 0;
        foreach (var r in layout)
        {
            if (r.Offset < 0 || r.Length < 0) throw new ArgumentException($"Layout range [{r.Offset}, {r.End}) is negative.", nameof(layout));
            covered += r.Length;
        }
        if (covered != update.Length)
            throw new ArgumentException($"The layout covers {covered} coordinates; the update has {update.Length}.", nameof(layout));

        int n = update.Length;
        float[] rented = ArrayPool<float>.Shared.Rent(2 * n);
        try
        {
            var wanted = rented.AsSpan(0, n);
            var sent = rented.AsSpan(n, n);
            bool same = layout.SequenceEqual(_layout);
            var residual = same ? _residual : Remapped(layout);
            TensorPrimitives.Add(update, residual, wanted);            // p = Δ + e
            int written = codec.Encode(wanted, destination, rng);
            codec.Decode(destination[..written], sent);                 // what the server will see
            TensorPrimitives.Subtract(wanted, sent, residual);          // e ← p − D(C(p))
            if (!same)
            {
                _residual = residual;
                _layout = layout.ToArray();
            }
            return written;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>A copy with its own residual (e.g. to hand a task's device state to another thread).</summary>
    public ErrorFeedback Clone() => new() { _residual = (float[])_residual.Clone(), _layout = _layout };

    /// <summary>Forgets the residual.</summary>
    public void Reset()
    {
        _residual = [];
        _layout = [];
    }

    /// <summary>The residual laid out as <paramref name="layout"/> (a new array; the current one is untouched).</summary>
    private float[] Remapped(ReadOnlySpan<WeightRange> layout)
    {
        int n = 0;
        foreach (var r in layout) n += r.Length;
        var mapped = new float[n];
        // Coordinates present in both layouts keep their residual: copy each overlap of a new range with an old one.
        int at = 0;
        foreach (var r in layout)
        {
            int from = 0;
            foreach (var old in _layout)
            {
                int lo = Math.Max(r.Offset, old.Offset), hi = Math.Min(r.End, old.End);
                if (lo < hi) _residual.AsSpan(from + lo - old.Offset, hi - lo).CopyTo(mapped.AsSpan(at + lo - r.Offset));
                from += old.Length;
            }
            at += r.Length;
        }
        return mapped;
    }
}
