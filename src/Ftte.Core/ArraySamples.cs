namespace Ftte.Core;

/// <summary>Samples held in two arrays (features back to back, one label each), optionally through an index list.</summary>
public readonly struct ArraySamples : ISampleSource
{
    private readonly float[] _features;
    private readonly int[] _labels;
    private readonly int[]? _indices;

    public ArraySamples(float[] features, int[] labels, int sampleSize, int[]? indices = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (sampleSize <= 0 || features.Length != (long)labels.Length * sampleSize)
            throw new ArgumentException($"{features.Length} feature values do not make {labels.Length} samples of {sampleSize}.");
        _features = features;
        _labels = labels;
        _indices = indices;
        SampleSize = sampleSize;
    }

    public int Count => _indices?.Length ?? _labels.Length;
    public int SampleSize { get; }
    public ReadOnlySpan<float> Sample(int index) => _features.AsSpan(Row(index) * SampleSize, SampleSize);
    public int Label(int index) => _labels[Row(index)];
    private int Row(int index) => _indices is null ? index : _indices[index];
}
