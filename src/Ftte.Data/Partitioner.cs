using Ftte.Core;
using Ftte.Data.Internal;

namespace Ftte.Data;

/// <summary>Deals a dataset's samples to federated devices (see <see cref="PartitionScheme"/>).</summary>
public static class Partitioner
{
    // Independent sub-streams of the seed: changing how one step draws never shifts another's numbers.
    private const ulong AssignStream = 1, LocalSplitStream = 2;

    /// <summary>
    /// Partitions <paramref name="dataset"/> over <see cref="PartitionOptions.Devices"/> devices. Each
    /// device's samples are shuffled, then the last ⌊f·n_d + ½⌋ (f the validation fraction; at most
    /// n_d − 1) become its local validation set.
    /// </summary>
    public static Partition Split(Dataset dataset, PartitionOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(dataset);
        Rng rng = Rng.ForStream(options.Seed, AssignStream);
        int[] deviceOf = options.Scheme switch
        {
            PartitionScheme.Iid => DeviceAssignment.Iid(dataset.Count, options.Devices, rng),
            PartitionScheme.Dirichlet => DeviceAssignment.Dirichlet(dataset.Labels, dataset.ClassCount, options.Devices, options.DirichletAlpha, rng),
            PartitionScheme.Shards => DeviceAssignment.Shards(dataset.Labels, dataset.ClassCount, options.Devices, options.ClassesPerDevice, rng),
            PartitionScheme.QuantitySkew => DeviceAssignment.QuantitySkew(dataset.Count, options.Devices, options.QuantitySigma, rng),
            PartitionScheme.Natural => DeviceAssignment.Natural(dataset.Groups!, options.Devices, rng),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Scheme, "Unknown partition scheme."),
        };
        return Group(dataset, options, deviceOf);
    }

    /// <summary>Counting sort of sample indices by device, then each device's local train/validation split.</summary>
    private static Partition Group(Dataset dataset, PartitionOptions options, int[] deviceOf)
    {
        int devices = options.Devices;
        var starts = new int[devices + 1];
        foreach (int d in deviceOf) starts[d + 1]++;
        for (int d = 0; d < devices; d++) starts[d + 1] += starts[d];

        var indices = new int[deviceOf.Length];
        var fill = starts[..devices];
        for (int i = 0; i < deviceOf.Length; i++) indices[fill[deviceOf[i]]++] = i;

        Rng rng = Rng.ForStream(options.Seed, LocalSplitStream);
        var trainCount = new int[devices];
        for (int d = 0; d < devices; d++)
        {
            Span<int> local = indices.AsSpan(starts[d], starts[d + 1] - starts[d]);
            rng.Shuffle(local);
            int validation = Math.Min((int)Math.Floor(options.ValidationFraction * local.Length + 0.5), Math.Max(local.Length - 1, 0));
            trainCount[d] = local.Length - validation;
        }
        return new Partition(dataset, options, indices, starts, trainCount);
    }
}
