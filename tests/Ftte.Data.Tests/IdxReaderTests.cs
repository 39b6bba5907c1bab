using System.IO.Compression;

namespace Ftte.Data.Tests;

public sealed class IdxReaderTests
{
    /// <summary>An IDX file: zero, zero, type, rank, big-endian dims, then the payload.</summary>
    private static byte[] Idx(byte type, int[] dims, byte[] payload)
    {
        var bytes = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (int d in dims) bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        bytes.AddRange(payload);
        return [.. bytes];
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest)) gzip.Write(bytes);
        return output.ToArray();
    }

    [Fact]
    public void FromIdx_RealMnistRawFiles_ReadsAllImagesUnnormalised()
    {
        // Arrange
        string dir = DatasetCatalog.Fetch("mnist");

        // Act
        Dataset test = DatasetFiles.FromIdx("mnist/test", Path.Combine(dir, "t10k-images-idx3-ubyte"), Path.Combine(dir, "t10k-labels-idx1-ubyte"), 10);

        // Assert
        Assert.Equal(10_000, test.Count);
        Assert.Equal([1, 28, 28], test.SampleShape);
        Assert.Equal(7, test.Labels[0]);
        Assert.Equal(255f, test.Features.Max());
        Assert.Equal([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], test.ClassCounts());
    }

    [Fact]
    public void FromIdx_RealFashionMnistGzipFiles_ReadsBalancedClasses()
    {
        // Arrange
        string dir = DatasetCatalog.Fetch("fashion-mnist");

        // Act
        Dataset train = DatasetFiles.FromIdx("fashion/train", Path.Combine(dir, "train-images-idx3-ubyte.gz"), Path.Combine(dir, "train-labels-idx1-ubyte.gz"), 10);

        // Assert
        Assert.Equal(60_000, train.Count);
        Assert.All(train.ClassCounts(), n => Assert.Equal(6_000, n));
    }

    [Fact]
    public void FromIdx_WrittenUbyteAndFloatFiles_ReadsValues()
    {
        // Arrange
        using var temp = new TempDirectory();
        string images = temp.Write("img.idx", Idx(0x0D, [2, 2], [0x3F, 0x80, 0, 0, 0x40, 0, 0, 0, 0xBF, 0x80, 0, 0, 0, 0, 0, 0]));
        string labels = temp.Write("lab.idx.gz", Gzip(Idx(0x08, [2], [1, 0])));

        // Act
        Dataset data = DatasetFiles.FromIdx("t", images, labels, 2);

        // Assert
        Assert.Equal([1f, 2f, -1f, 0f], data.Features);
        Assert.Equal([1, 0], data.Labels);
        Assert.Equal([2], data.SampleShape);
    }

    [Fact]
    public void FromIdx_TruncatedImages_ThrowsNamingFileOffsetAndItem()
    {
        // Arrange
        using var temp = new TempDirectory();
        string images = temp.Write("img.idx", Idx(0x08, [2, 28, 28], new byte[1000]));
        string labels = temp.Write("lab.idx", Idx(0x08, [2], [0, 1]));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromIdx("t", images, labels, 10));

        // Assert
        Assert.Equal(images, error.FilePath);
        Assert.Equal(16 + 1000, error.Offset);
        Assert.Contains("item 1 of 2", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void FromIdx_TruncatedGzip_ThrowsDataFormatException()
    {
        // Arrange
        using var temp = new TempDirectory();
        byte[] whole = Gzip(Idx(0x08, [100, 28, 28], [.. Enumerable.Range(0, 78_400).Select(i => (byte)(i * 7))]));
        string images = temp.Write("img.idx.gz", whole[..(whole.Length / 2)]);
        string labels = temp.Write("lab.idx", Idx(0x08, [100], new byte[100]));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromIdx("t", images, labels, 10));

        // Assert
        Assert.Equal(images, error.FilePath);
        Assert.Contains("decompressed byte offset", error.Message);
    }

    [Fact]
    public void FromIdx_BadMagic_ThrowsAtOffsetZero()
    {
        // Arrange
        using var temp = new TempDirectory();
        string images = temp.Write("img.idx", [0x50, 0x4B, 3, 4, 0, 0, 0, 0]);

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromIdx("t", images, images, 10));

        // Assert
        Assert.Equal(0, error.Offset);
        Assert.Contains("two zero bytes", error.Message);
    }

    [Fact]
    public void FromIdx_TrailingBytes_ThrowsExpectingEndOfFile()
    {
        // Arrange
        using var temp = new TempDirectory();
        string images = temp.Write("img.idx", Idx(0x08, [1, 2], [1, 2, 3]));
        string labels = temp.Write("lab.idx", Idx(0x08, [1], [0]));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromIdx("t", images, labels, 10));

        // Assert
        Assert.Equal(12 + 2, error.Offset);
        Assert.Contains("end of file after 1 items", error.Message);
    }

    [Fact]
    public void FromIdx_LabelOutOfRange_ThrowsAtThatLabelsOffset()
    {
        // Arrange
        using var temp = new TempDirectory();
        string images = temp.Write("img.idx", Idx(0x08, [3, 1], [1, 2, 3]));
        string labels = temp.Write("lab.idx", Idx(0x08, [3], [0, 1, 12]));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromIdx("t", images, labels, 10));

        // Assert
        Assert.Equal(labels, error.FilePath);
        Assert.Equal(8 + 2, error.Offset);
        Assert.Contains("[0, 10)", error.Message);
    }

    [Fact]
    public void FromIdx_FewerLabelsThanImages_Throws()
    {
        // Arrange
        using var temp = new TempDirectory();
        string images = temp.Write("img.idx", Idx(0x08, [3, 1], [1, 2, 3]));
        string labels = temp.Write("lab.idx", Idx(0x08, [2], [0, 1]));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromIdx("t", images, labels, 10));

        // Assert
        Assert.Contains("3 labels", error.Message);
    }
}
