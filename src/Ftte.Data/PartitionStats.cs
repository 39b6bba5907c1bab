using System.Globalization;

namespace Ftte.Data;

/// <summary>Minimum, median, mean and maximum of one per-device quantity.</summary>
public sealed record StatSummary(double Min, double Median, double Mean, double Max)
{
    public static StatSummary Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) return new StatSummary(0, 0, 0, 0);
        double[] sorted = [.. values.Order()];
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        return new StatSummary(sorted[0], median, sorted.Average(), sorted[^1]);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"min {Min:0.###}, median {Median:0.###}, mean {Mean:0.###}, max {Max:0.###}");
}

/// <summary>
/// How skewed a partition is. Label entropy is the Shannon entropy (bits) of a device's label
/// histogram — log2(C) when balanced, 0 for one class; label distance is the total variation distance
/// between a device's label distribution and the whole dataset's (0 = IID-like, 1 = disjoint).
/// </summary>
public sealed record PartitionStats(
    string Dataset,
    string Scheme,
    int Devices,
    ulong Seed,
    StatSummary SamplesPerDevice,
    int TrainSamples,
    int ValidationSamples,
    int EmptyDevices,
    StatSummary ClassesPerDevice,
    StatSummary LabelEntropyBits,
    double DatasetLabelEntropyBits,
    StatSummary LabelDistance,
    long IndexBytes)
{
    public static PartitionStats Compute(Partition partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        Dataset data = partition.Dataset;
        int classes = data.ClassCount;
        double[] global = [.. data.ClassCounts().Select(c => (double)c / Math.Max(data.Count, 1))];

        var sizes = new List<double>(partition.DeviceCount);
        var classCounts = new List<double>();
        var entropies = new List<double>();
        var distances = new List<double>();
        var histogram = new int[classes];
        int train = 0, validation = 0, empty = 0;
        for (int d = 0; d < partition.DeviceCount; d++)
        {
            ReadOnlySpan<int> indices = partition.Indices(d).Span;
            sizes.Add(indices.Length);
            train += partition.TrainIndices(d).Length;
            validation += partition.ValidationIndices(d).Length;
            if (indices.IsEmpty) { empty++; continue; }

            Array.Clear(histogram);
            foreach (int i in indices) histogram[data.Labels[i]]++;
            double entropy = 0, distance = 0;
            for (int c = 0; c < classes; c++)
            {
                double p = (double)histogram[c] / indices.Length;
                if (p > 0) entropy -= p * Math.Log2(p);
                distance += Math.Abs(p - global[c]);
            }
            classCounts.Add(histogram.Count(h => h > 0));
            entropies.Add(entropy);
            distances.Add(distance / 2);
        }

        return new PartitionStats(data.Name, Describe(partition.Options), partition.DeviceCount, partition.Options.Seed,
            StatSummary.Of(sizes), train, validation, empty,
            StatSummary.Of(classCounts), StatSummary.Of(entropies), -global.Where(p => p > 0).Sum(p => p * Math.Log2(p)),
            StatSummary.Of(distances), partition.IndexBytes);
    }

    private static string Describe(PartitionOptions o)
    {
        string scheme = o.Scheme switch
        {
            PartitionScheme.Dirichlet => FormattableString.Invariant($"dirichlet(alpha={o.DirichletAlpha})"),
            PartitionScheme.Shards => $"shards(classes per device={o.ClassesPerDevice})",
            PartitionScheme.QuantitySkew => FormattableString.Invariant($"quantity-skew(sigma={o.QuantitySigma})"),
            PartitionScheme.Natural => "natural",
            _ => "iid",
        };
        return FormattableString.Invariant($"{scheme}, validation fraction {o.ValidationFraction}");
    }

    /// <summary>A few lines for a terminal.</summary>
    public string ToText() => string.Create(CultureInfo.InvariantCulture, $"""
        {Dataset}: {Devices} devices, {Scheme}, seed {Seed}
          samples per device   {SamplesPerDevice}  (local train {TrainSamples}, validation {ValidationSamples}, empty devices {EmptyDevices})
          classes per device   {ClassesPerDevice}
          label entropy (bits) {LabelEntropyBits}  (whole dataset {DatasetLabelEntropyBits:0.###})
          label distance (TV)  {LabelDistance}
          index memory         {IndexBytes:N0} bytes

        """);
}
