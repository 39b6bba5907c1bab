using Ftte.Data.Internal;

namespace Ftte.Data;

/// <summary>
/// Readers for data files a user already has (the catalog uses the same ones). They return the stored
/// values un-normalised unless stated; corrupt or truncated files fail with a <see cref="DataFormatException"/>.
/// </summary>
public static class DatasetFiles
{
    /// <summary>
    /// Reads an IDX image file and its IDX label file (raw or .gz). Images of shape (N, H, W) become
    /// samples of shape [1, H, W]; (N, C, H, W) stays [C, H, W]; (N, F) becomes [F].
    /// </summary>
    public static Dataset FromIdx(string name, string imagesPath, string labelsPath, int classCount)
    {
        IdxReader.IdxArray images = IdxReader.Read(imagesPath);
        int[] labels = IdxReader.ReadLabels(labelsPath, classCount);
        if (images.Dimensions[0] != labels.Length)
            throw new DataFormatException(labelsPath, 4, $"{images.Dimensions[0]} labels, one per image in {imagesPath}", labels.Length.ToString());
        int[] shape = images.Dimensions.Length switch
        {
            1 => [1],
            3 => [1, images.Dimensions[1], images.Dimensions[2]],
            _ => images.Dimensions[1..],
        };
        return new Dataset(name, images.Values, labels, shape, classCount);
    }

    /// <summary>
    /// Loads CIFAR-10 from its binary version's directory (data_batch_1.bin … data_batch_5.bin and
    /// test_batch.bin), samples [3, 32, 32], normalised like the catalog's image datasets.
    /// </summary>
    public static DatasetSplits LoadCifar10(string directory, Normalization normalization = Normalization.Standardize)
    {
        string[] trainFiles = [.. Enumerable.Range(1, 5).Select(i => Path.Combine(directory, $"data_batch_{i}.bin"))];
        string testFile = Path.Combine(directory, "test_batch.bin");
        string[] absent = [.. trainFiles.Append(testFile).Where(f => !File.Exists(f))];
        if (absent.Length > 0)
            throw new FileNotFoundException($"CIFAR-10 binary files missing: {string.Join(", ", absent)} (expected the contents of cifar-10-batches-bin).", absent[0]);
        Dataset train = FromCifar10Batches("cifar10/train", trainFiles);
        Dataset test = FromCifar10Batches("cifar10/test", [testFile]);
        Normalizer.Images(train.Features, test.Features, 255f, normalization);
        return new DatasetSplits(train, test);
    }

    /// <summary>Reads CIFAR-10 binary batch files, in order, into one dataset of raw 0–255 values.</summary>
    public static Dataset FromCifar10Batches(string name, IReadOnlyList<string> batchPaths)
    {
        (float[] features, int[] labels) = Cifar10Reader.Read(batchPaths);
        return new Dataset(name, features, labels, [Cifar10Reader.Channels, Cifar10Reader.Height, Cifar10Reader.Width], Cifar10Reader.ClassCount);
    }

    /// <summary>Reads a numeric CSV table (plain or .gz) with a label column and optionally a group column.</summary>
    public static Dataset FromCsv(string name, string path, CsvFormat? format = null)
    {
        format ??= new CsvFormat();
        CsvReader.CsvTable table = CsvReader.Read(path, format);
        int[] shape = format.SampleShape is { } s ? [.. s] : [table.FeatureCount];
        if (shape.Aggregate(1, (a, b) => a * b) != table.FeatureCount)
            throw new DataFormatException(path, 0, $"{shape.Aggregate(1, (a, b) => a * b)} feature columns for sample shape [{string.Join(",", shape)}]", table.FeatureCount.ToString());
        int classCount = format.ClassCount ?? (table.Labels.Length == 0 ? 1 : table.Labels.Max() + 1);
        int bad = Array.FindIndex(table.Labels, l => l >= classCount);
        if (bad >= 0)
            throw new DataFormatException(path, 0, $"labels in [0, {classCount}) (row {bad})", table.Labels[bad].ToString());
        return new Dataset(name, table.Features, table.Labels, shape, classCount, table.Groups);
    }
}
