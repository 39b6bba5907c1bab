namespace Ftte.Data;

/// <summary>
/// A dataset dealt to devices: indices only. All devices' indices live in one array, grouped by
/// device, each group's local-train part first and its local-validation part after, so N devices
/// cost 4·(n + 2N + 1) bytes whatever the sample size (no feature is copied).
/// </summary>
public sealed class Partition
{
    private readonly int[] _indices;    // n sample indices, grouped by device
    private readonly int[] _starts;     // N + 1 offsets into _indices
    private readonly int[] _trainCount; // N: how many of each group are local train

    internal Partition(Dataset dataset, PartitionOptions options, int[] indices, int[] starts, int[] trainCount)
    {
        Dataset = dataset;
        Options = options;
        _indices = indices;
        _starts = starts;
        _trainCount = trainCount;
    }

    public Dataset Dataset { get; }

    public PartitionOptions Options { get; }

    public int DeviceCount => _trainCount.Length;

    /// <summary>Bytes held by this partition's index arrays (what the "indices only" claim measures).</summary>
    public long IndexBytes => sizeof(int) * ((long)_indices.Length + _starts.Length + _trainCount.Length);

    /// <summary>All of a device's sample indices (train part, then validation part).</summary>
    public ReadOnlyMemory<int> Indices(int device) => _indices.AsMemory(_starts[device], _starts[device + 1] - _starts[device]);

    public ReadOnlyMemory<int> TrainIndices(int device) => _indices.AsMemory(_starts[device], _trainCount[device]);

    public ReadOnlyMemory<int> ValidationIndices(int device)
    {
        int start = _starts[device] + _trainCount[device];
        return _indices.AsMemory(start, _starts[device + 1] - start);
    }

    /// <summary>The device's local training data, as a view over <see cref="Dataset"/>.</summary>
    public DatasetView Train(int device) => new(Dataset, TrainIndices(device));

    /// <summary>The device's local validation data (for on-device validation hooks).</summary>
    public DatasetView Validation(int device) => new(Dataset, ValidationIndices(device));

    /// <summary>Samples on a device (train + validation).</summary>
    public int SampleCount(int device) => _starts[device + 1] - _starts[device];
}
