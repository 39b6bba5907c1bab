namespace Ftte.Core;

/// <summary>
/// Labelled samples addressed by index: the contract between data (datasets and their per-device views)
/// and training, so neither library knows the other. Samples are float vectors of
/// <see cref="SampleSize"/> elements, already normalised.
/// </summary>
public interface ISampleSource
{
    int Count { get; }
    int SampleSize { get; }
    ReadOnlySpan<float> Sample(int index);
    int Label(int index);
}
