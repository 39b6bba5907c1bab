namespace Ftte.Data.Tests;

public sealed class Cifar10ReaderTests
{
    private const int Record = 3073;

    /// <summary>CIFAR-10 binary records: label byte, then red, green, blue planes of 32×32; value = 100·channel + 10·record + pixel mod 10.</summary>
    private static byte[] Batch(params int[] labels)
    {
        var bytes = new byte[labels.Length * Record];
        for (int r = 0; r < labels.Length; r++)
        {
            bytes[r * Record] = (byte)labels[r];
            for (int i = 0; i < 3072; i++) bytes[r * Record + 1 + i] = (byte)(i / 1024 * 100 + 10 * r + i % 1024 % 10);
        }
        return bytes;
    }

    [Fact]
    public void FromCifar10Batches_WrittenBatch_ReadsLabelsAndChannelPlanes()
    {
        // Arrange
        using var temp = new TempDirectory();
        string batch = temp.Write("data_batch_1.bin", Batch(3, 9, 0));

        // Act
        Dataset data = DatasetFiles.FromCifar10Batches("c", [batch]);

        // Assert
        Assert.Equal([3, 9, 0], data.Labels);
        Assert.Equal([3, 32, 32], data.SampleShape);
        ReadOnlySpan<float> second = data.Sample(1);
        Assert.Equal(10f, second[0]);     // red plane, pixel 0
        Assert.Equal(110f, second[1024]); // green plane, pixel 0
        Assert.Equal(211f, second[2049]); // blue plane, pixel 1
    }

    [Fact]
    public void LoadCifar10_Directory_ConcatenatesTrainBatchesAndStandardises()
    {
        // Arrange
        using var temp = new TempDirectory();
        for (int i = 1; i <= 5; i++) temp.Write($"data_batch_{i}.bin", Batch(i, i + 1));
        temp.Write("test_batch.bin", Batch(7));

        // Act
        DatasetSplits splits = DatasetFiles.LoadCifar10(temp.Path);

        // Assert
        Assert.Equal([1, 2, 2, 3, 3, 4, 4, 5, 5, 6], splits.Train.Labels);
        Assert.Equal([7], splits.Test.Labels);
        Assert.InRange(splits.Train.Features.Average(v => (double)v), -1e-4, 1e-4);
    }

    [Fact]
    public void FromCifar10Batches_PartialRecord_ThrowsAtRecordBoundary()
    {
        // Arrange
        using var temp = new TempDirectory();
        string batch = temp.Write("data_batch_1.bin", Batch(1, 2)[..(Record + 100)]);

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromCifar10Batches("c", [batch]));

        // Assert
        Assert.Equal(batch, error.FilePath);
        Assert.Equal(Record, error.Offset);
        Assert.Contains("3073", error.Message);
    }

    [Fact]
    public void FromCifar10Batches_LabelAboveNine_ThrowsAtThatRecord()
    {
        // Arrange
        using var temp = new TempDirectory();
        string batch = temp.Write("data_batch_1.bin", Batch(1, 2, 10));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromCifar10Batches("c", [batch]));

        // Assert
        Assert.Equal(2 * Record, error.Offset);
        Assert.Contains("record 2", error.Message);
    }

    [Fact]
    public void LoadCifar10_MissingBatches_NamesEveryMissingFile()
    {
        // Arrange
        using var temp = new TempDirectory();
        temp.Write("data_batch_1.bin", Batch(1));

        // Act
        var error = Assert.Throws<FileNotFoundException>(() => DatasetFiles.LoadCifar10(temp.Path));

        // Assert
        Assert.Contains("data_batch_5.bin", error.Message);
        Assert.Contains("test_batch.bin", error.Message);
        Assert.DoesNotContain("data_batch_1.bin", error.Message);
    }
}
