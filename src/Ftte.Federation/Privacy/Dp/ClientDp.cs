using System.Numerics.Tensors;
using Ftte.Engine;

namespace Ftte.Federation.Privacy;

/// <summary>
/// The pure pieces of client-level DP (DP-FedAvg, McMahan, Ramage, Talwar &amp; Zhang 2018, "Learning Differentially
/// Private Recurrent Language Models"): L2 clipping of an update over the coordinates it trained, Gaussian noise, and
/// the per-device noise share of the distributed mode. Model-length spans with <see cref="WeightRange"/>s, as in
/// <see cref="ClientUpdate"/>; coordinates outside the ranges are neither read nor written.
/// </summary>
public static class ClientDp
{
    /// <summary>
    /// Clipping scales by C/‖Δ‖ and rounds every coordinate to float, which can leave ‖Δ‖ up to ~2⁻²⁴ relative above C.
    /// A sensitivity bound must hold exactly, so the scale is shrunk by this factor (a 1e-6 relative loss of signal).
    /// </summary>
    internal const double ClipSafety = 1.0 - 1.0 / (1 << 20);

    /// <summary>‖Δ‖₂ over <paramref name="ranges"/>, accumulated in double (the clip decision must not depend on float rounding order).</summary>
    public static double L2Norm(ReadOnlySpan<float> values, ReadOnlySpan<WeightRange> ranges)
    {
        EnsureDisjoint(ranges);
        double sum = 0;
        foreach (var r in ranges)
        {
            CheckRange(r, values.Length);
            foreach (float v in values.Slice(r.Offset, r.Length)) sum += (double)v * v;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>The factor min(1, C/‖Δ‖) that clips an update of norm <paramref name="norm"/> to <paramref name="clipNorm"/>.</summary>
    public static double ClipScale(double norm, double clipNorm)
    {
        ValidateClipNorm(clipNorm);
        if (!double.IsFinite(norm)) throw new ArgumentException("The update has a non-finite value (NaN or ±∞); it cannot be clipped and must be refused.");
        return norm <= clipNorm ? 1.0 : clipNorm / norm * ClipSafety;
    }

    /// <summary>
    /// Clips Δ in place to L2 norm ≤ <paramref name="clipNorm"/> over <paramref name="ranges"/> (Δ ← Δ·min(1, C/‖Δ‖));
    /// returns the norm before clipping. Throws on NaN/∞, which no clip can bound.
    /// </summary>
    public static double Clip(Span<float> values, ReadOnlySpan<WeightRange> ranges, double clipNorm)
    {
        double norm = L2Norm(values, ranges);
        double scale = ClipScale(norm, clipNorm);
        if (scale < 1.0)
            foreach (var r in ranges)
            {
                var span = values.Slice(r.Offset, r.Length);
                TensorPrimitives.Multiply(span, (float)scale, span);
            }
        return norm;
    }

    /// <summary>Adds independent N(0, <paramref name="stddev"/>²) to every coordinate in <paramref name="ranges"/>.</summary>
    public static void AddGaussianNoise(Span<float> values, ReadOnlySpan<WeightRange> ranges, double stddev, NoiseSource noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        if (!(stddev >= 0) || double.IsPositiveInfinity(stddev)) throw new ArgumentOutOfRangeException(nameof(stddev), stddev, "The noise standard deviation must be finite and ≥ 0.");
        foreach (var r in ranges)
        {
            CheckRange(r, values.Length);
            var span = values.Slice(r.Offset, r.Length);
            for (int j = 0; j < span.Length; j++) span[j] = (float)(span[j] + stddev * noise.NextGaussian());
        }
    }

    /// <summary>Same, into a double accumulator (the server's sum).</summary>
    public static void AddGaussianNoise(Span<double> values, ReadOnlySpan<WeightRange> ranges, double stddev, NoiseSource noise)
    {
        ArgumentNullException.ThrowIfNull(noise);
        if (!(stddev >= 0) || double.IsPositiveInfinity(stddev)) throw new ArgumentOutOfRangeException(nameof(stddev), stddev, "The noise standard deviation must be finite and ≥ 0.");
        foreach (var r in ranges)
        {
            CheckRange(r, values.Length);
            var span = values.Slice(r.Offset, r.Length);
            for (int j = 0; j < span.Length; j++) span[j] += stddev * noise.NextGaussian();
        }
    }

    /// <summary>
    /// Distributed mode: the standard deviation each device adds, σC/√t, so that the sum over any t contributors carries
    /// N(0, σ²C²), the central mechanism's noise. t is the fewest contributors a step may be released with (with secure
    /// aggregation, its threshold); a step with more contributors carries more noise than needed, never less.
    /// </summary>
    public static double DistributedStddev(double noiseMultiplier, double clipNorm, int minContributors)
    {
        if (!(noiseMultiplier >= 0) || double.IsPositiveInfinity(noiseMultiplier)) throw new ArgumentOutOfRangeException(nameof(noiseMultiplier), noiseMultiplier, "The noise multiplier must be finite and ≥ 0.");
        ValidateClipNorm(clipNorm);
        if (minContributors < 1) throw new ArgumentOutOfRangeException(nameof(minContributors), minContributors, "At least one contributor is needed.");
        return noiseMultiplier * clipNorm / Math.Sqrt(minContributors);
    }

    /// <summary>
    /// The device's side of the distributed mode: clip Δ to <paramref name="clipNorm"/>, then add N(0, <paramref name="stddev"/>²)
    /// (from <see cref="DistributedStddev"/>) to every trained coordinate. Returns the norm before clipping, which stays on the device.
    /// </summary>
    public static double ClipAndNoise(Span<float> values, ReadOnlySpan<WeightRange> ranges, double clipNorm, double stddev, NoiseSource noise)
    {
        double norm = Clip(values, ranges, clipNorm);
        AddGaussianNoise(values, ranges, stddev, noise);
        return norm;
    }

    internal static void ValidateClipNorm(double clipNorm)
    {
        if (!(clipNorm > 0) || double.IsPositiveInfinity(clipNorm)) throw new ArgumentOutOfRangeException(nameof(clipNorm), clipNorm, $"The clipping norm C must be finite and > 0; got {clipNorm}.");
    }

    /// <summary>Overlapping ranges would count a coordinate twice in the norm and scale it twice.</summary>
    internal static void EnsureDisjoint(ReadOnlySpan<WeightRange> ranges)
    {
        if (ranges.Length < 2) return;
        var sorted = ranges.ToArray();
        Array.Sort(sorted, static (a, b) => a.Offset.CompareTo(b.Offset));
        for (int i = 1; i < sorted.Length; i++)
            if (sorted[i].Offset < sorted[i - 1].End)
                throw new ArgumentException($"Ranges [{sorted[i - 1].Offset}, {sorted[i - 1].End}) and [{sorted[i].Offset}, {sorted[i].End}) overlap.", nameof(ranges));
    }

    private static void CheckRange(WeightRange r, int length)
    {
        if (r.Offset < 0 || r.Length < 0 || r.End > length)
            throw new ArgumentOutOfRangeException(nameof(r), $"Range [{r.Offset}, {r.End}) is outside the {length} values.");
    }
}
