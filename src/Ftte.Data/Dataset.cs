using Ftte.Core;

namespace Ftte.Data;

/// <summary>
/// One split of a dataset held in memory once: all samples in one contiguous, normalised
/// <see cref="Features"/> array (row-major, <see cref="SampleSize"/> floats per sample) and one label
/// per sample. Everything built on top of it (partitions, device views, batches) holds indices only.
/// </summary>
public sealed class Dataset : ISampleSource
{
    private readonly int[] _shape;

    /// <param name="name">Display name, e.g. "mnist/train".</param>
    /// <param name="features">Count × SampleSize floats; kept, not copied.</param>
    /// <param name="labels">One class index in [0, classCount) per sample; kept, not copied.</param>
    /// <param name="sampleShape">Shape of one sample, e.g. [1, 28, 28] (C, H, W) or [4].</param>
    /// <param name="classCount">Number of classes.</param>
    /// <param name="groups">Optional natural group id per sample (e.g. writer or site), for natural partitions.</param>
    public Dataset(string name, float[] features, int[] labels, IReadOnlyList<int> sampleShape, int classCount, int[]? groups = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(sampleShape);
        _shape = [.. sampleShape];
        if (_shape.Length == 0 || _shape.Any(d => d <= 0))
            throw new ArgumentException($"Sample shape [{string.Join(",", _shape)}] must have positive dimensions.", nameof(sampleShape));
        SampleSize = _shape.Aggregate(1, (a, b) => checked(a * b));
        if ((long)labels.Length * SampleSize != features.Length)
            throw new ArgumentException($"{features.Length} features do not hold {labels.Length} samples of {SampleSize} values.", nameof(features));
        if (classCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "A dataset needs at least one class.");
        foreach (int label in labels)
        {
            if ((uint)label >= (uint)classCount)
                throw new ArgumentException($"Label {label} is outside [0, {classCount}).", nameof(labels));
        }
        if (groups is not null && groups.Length != labels.Length)
            throw new ArgumentException($"{groups.Length} group ids for {labels.Length} samples.", nameof(groups));

        Name = name;
        Features = features;
        Labels = labels;
        ClassCount = classCount;
        Groups = groups;
    }

    public string Name { get; }

    public int Count => Labels.Length;

    /// <summary>Shape of one sample: (C, H, W) for images, (F) for tabular rows.</summary>
    public IReadOnlyList<int> SampleShape => _shape;

    /// <summary>Product of <see cref="SampleShape"/>: floats per sample.</summary>
    public int SampleSize { get; }

    public int ClassCount { get; }

    /// <summary>Count × SampleSize normalised floats, one sample after the other.</summary>
    public float[] Features { get; }

    public int[] Labels { get; }

    /// <summary>Natural group id per sample (writer, site, …), or null when the data has none.</summary>
    public int[]? Groups { get; }

    /// <summary>The features of sample <paramref name="index"/>, without a copy.</summary>
    public ReadOnlySpan<float> Sample(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name} has {Count} samples.");
        return Features.AsSpan(index * SampleSize, SampleSize);
    }

    /// <summary>The class of sample <paramref name="index"/>.</summary>
    public int Label(int index) => Labels[index];

    /// <summary>An index view over this dataset (no feature copy).</summary>
    public DatasetView View(ReadOnlyMemory<int> indices) => new(this, indices);

    /// <summary>
    /// A seeded uniform subset of <paramref name="samples"/> samples in index order (all of them when
    /// <paramref name="samples"/> ≤ 0 or ≥ the count): the server's evaluation set and FTTE's proxy set.
    /// </summary>
    /// <summary>Seed of a run's evaluation subset: the simulator and the real server evaluate on the same samples.</summary>
    public static ulong EvaluationSeed(ulong runSeed) => Ftte.Core.Rng.Mix(runSeed, 0xE7A1);

    public DatasetView SeededSubset(int samples, ulong seed)
    {
        var order = new int[Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (samples <= 0 || samples >= Count) return View(order);
        new Ftte.Core.Rng(seed).Shuffle(order.AsSpan());
        var subset = order[..samples];
        Array.Sort(subset);
        return View(subset);
    }

    /// <summary>Samples per class, length <see cref="ClassCount"/>.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[ClassCount];
        foreach (int label in Labels) counts[label]++;
        return counts;
    }

    public override string ToString() => $"{Name}: {Count} × [{string.Join(",", _shape)}], {ClassCount} classes";
}
