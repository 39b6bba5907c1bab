using System.Text;

namespace Ftte.Data.Tests;

public sealed class CsvReaderTests
{
    [Fact]
    public void FromCsv_RealIrisFile_ReadsFiftyPerClass()
    {
        // Arrange
        string path = Path.Combine(DatasetCatalog.Fetch("iris"), "iris.csv");

        // Act
        Dataset iris = DatasetFiles.FromCsv("iris", path);

        // Assert
        Assert.Equal(150, iris.Count);
        Assert.Equal([4], iris.SampleShape);
        Assert.Equal([50, 50, 50], iris.ClassCounts());
        Assert.Equal([5.1f, 3.5f, 1.4f, 0.2f], iris.Sample(0).ToArray());
    }

    [Fact]
    public void FromCsv_RealDigitsGzipWithoutHeader_ReadsImages()
    {
        // Arrange
        string path = Path.Combine(DatasetCatalog.Fetch("digits"), "digits.csv.gz");

        // Act
        Dataset digits = DatasetFiles.FromCsv("digits", path, new CsvFormat { HeaderLines = 0, SampleShape = [1, 8, 8] });

        // Assert
        Assert.Equal(1797, digits.Count);
        Assert.Equal(10, digits.ClassCount);
        Assert.Equal(16f, digits.Features.Max());
        Assert.Equal(0, digits.Labels[0]);
    }

    [Fact]
    public void FromCsv_RealBreastCancer_HasTwoClasses()
    {
        // Arrange
        string path = Path.Combine(DatasetCatalog.Fetch("breast-cancer"), "breast_cancer.csv");

        // Act
        Dataset data = DatasetFiles.FromCsv("bc", path);

        // Assert
        Assert.Equal([212, 357], data.ClassCounts());
        Assert.Equal(30, data.SampleSize);
    }

    [Fact]
    public void FromCsv_BadNumber_ThrowsAtThatFieldsOffset()
    {
        // Arrange
        using var temp = new TempDirectory();
        string path = temp.Write("t.csv", Encoding.UTF8.GetBytes("h\n1,2,0\n3,x4,1\n"));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromCsv("t", path));

        // Assert
        Assert.Equal(10, error.Offset);
        Assert.Contains("a number", error.Message);
        Assert.Contains("\"x4\"", error.Message);
    }

    [Fact]
    public void FromCsv_ShortRow_ThrowsNamingRowAndFieldCount()
    {
        // Arrange
        using var temp = new TempDirectory();
        string path = temp.Write("t.csv", Encoding.UTF8.GetBytes("h\n1,2,0\n3,1\n"));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromCsv("t", path));

        // Assert
        Assert.Equal(11, error.Offset);
        Assert.Contains("3 fields in row 1", error.Message);
    }

    [Fact]
    public void FromCsv_FractionalLabel_Throws()
    {
        // Arrange
        using var temp = new TempDirectory();
        string path = temp.Write("t.csv", Encoding.UTF8.GetBytes("h\n1,2,0.5\n"));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromCsv("t", path));

        // Assert
        Assert.Contains("integer class label", error.Message);
    }

    [Fact]
    public void FromCsv_HeaderOnly_ThrowsExpectingDataRows()
    {
        // Arrange
        using var temp = new TempDirectory();
        string path = temp.Write("t.csv", Encoding.UTF8.GetBytes("a,b,label\n"));

        // Act
        var error = Assert.Throws<DataFormatException>(() => DatasetFiles.FromCsv("t", path));

        // Assert
        Assert.Contains("at least one data row", error.Message);
    }

    [Fact]
    public void FromCsv_GroupAndLabelColumns_MapsGroupsInOrderOfAppearance()
    {
        // Arrange
        using var temp = new TempDirectory();
        string path = temp.Write("t.csv", Encoding.UTF8.GetBytes("writer,label,x,y\r\nw7,1,0.5,1\r\nw2,0,2,3\r\nw7,2,4,5\r\n"));

        // Act
        Dataset data = DatasetFiles.FromCsv("t", path, new CsvFormat { LabelColumn = 1, GroupColumn = 0 });

        // Assert
        Assert.Equal([0, 1, 0], data.Groups!);
        Assert.Equal([1, 0, 2], data.Labels);
        Assert.Equal([0.5f, 1f, 2f, 3f, 4f, 5f], data.Features);
    }
}
