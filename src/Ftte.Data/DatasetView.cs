using Ftte.Core;

namespace Ftte.Data;

/// <summary>
/// A subset of a <see cref="Dataset"/> given by indices into it: what a device holds. Costs the index
/// array only; samples are read from the parent's contiguous features.
/// </summary>
public readonly struct DatasetView : ISampleSource
{
    public DatasetView(Dataset dataset, ReadOnlyMemory<int> indices)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        Dataset = dataset;
        Indices = indices;
    }

    public Dataset Dataset { get; }

    /// <summary>Indices into <see cref="Dataset"/>, in this view's order.</summary>
    public ReadOnlyMemory<int> Indices { get; }

    public int Count => Indices.Length;

    public int SampleSize => Dataset.SampleSize;

    /// <summary>Features of the view's <paramref name="i"/>-th sample.</summary>
    public ReadOnlySpan<float> Sample(int i) => Dataset.Sample(Indices.Span[i]);

    /// <summary>Label of the view's <paramref name="i"/>-th sample.</summary>
    public int Label(int i) => Dataset.Labels[Indices.Span[i]];
}
