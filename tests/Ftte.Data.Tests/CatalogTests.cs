namespace Ftte.Data.Tests;

/// <summary>
/// The catalog on the real files, fetched through the product (CI fetches them first; a missing file
/// fails here with the fetch error, never a silent skip).
/// </summary>
public sealed class CatalogTests
{
    [Theory]
    [InlineData("mnist", 60_000, 10_000, new[] { 1, 28, 28 }, 10, 5, 7)]
    [InlineData("fashion-mnist", 60_000, 10_000, new[] { 1, 28, 28 }, 10, 9, 9)]
    public void Load_ImageDataset_HasKnownCountsShapeAndFirstLabels(string name, int train, int test, int[] shape, int classes, int firstTrainLabel, int firstTestLabel)
    {
        // Act
        DatasetSplits splits = SharedData.Get(name);

        // Assert
        Assert.Equal(train, splits.Train.Count);
        Assert.Equal(test, splits.Test.Count);
        Assert.Equal(shape, splits.Train.SampleShape);
        Assert.Equal(classes, splits.Train.ClassCount);
        Assert.Equal(firstTrainLabel, splits.Train.Labels[0]);
        Assert.Equal(firstTestLabel, splits.Test.Labels[0]);
        Assert.Equal(train * 784, splits.Train.Features.Length);
    }

    [Theory]
    [InlineData("digits", 1797, 64, 10)]
    [InlineData("iris", 150, 4, 3)]
    [InlineData("wine", 178, 13, 3)]
    [InlineData("breast-cancer", 569, 30, 2)]
    public void Load_SmallDataset_SplitsEightyTwentyStratified(string name, int total, int sampleSize, int classes)
    {
        // Act
        DatasetSplits splits = SharedData.Get(name);

        // Assert
        Assert.Equal(total, splits.Train.Count + splits.Test.Count);
        Assert.InRange(splits.Test.Count, (int)(0.19 * total), (int)(0.21 * total) + 1);
        Assert.Equal(sampleSize, splits.Train.SampleSize);
        Assert.Equal(classes, splits.Train.ClassCount);
        Assert.All(splits.Test.ClassCounts(), count => Assert.True(count > 0));
    }

    [Theory]
    [InlineData("mnist")]
    [InlineData("fashion-mnist")]
    [InlineData("digits")]
    [InlineData("wine")]
    public void Load_Standardize_TrainFeaturesHaveZeroMeanUnitStd(string name)
    {
        // Act
        float[] x = SharedData.Get(name).Train.Features;

        // Assert
        double mean = x.Average(v => (double)v);
        double std = Math.Sqrt(x.Average(v => ((double)v - mean) * ((double)v - mean)));
        Assert.InRange(mean, -1e-3, 1e-3);
        Assert.InRange(std, 0.999, 1.001);
    }

    [Fact]
    public void Load_SameSplitSeed_GivesSameSplit()
    {
        // Act
        DatasetSplits a = DatasetCatalog.Load("iris", new DataOptions { SplitSeed = 3 });
        DatasetSplits b = DatasetCatalog.Load("iris", new DataOptions { SplitSeed = 3 });
        DatasetSplits c = DatasetCatalog.Load("iris", new DataOptions { SplitSeed = 4 });

        // Assert
        Assert.Equal(a.Test.Features, b.Test.Features);
        Assert.NotEqual(a.Test.Features, c.Test.Features);
    }

    [Fact]
    public void Load_NormalizationNone_KeepsRawPixelValues()
    {
        // Act
        Dataset test = DatasetCatalog.Load("mnist", new DataOptions { Normalization = Normalization.None }).Test;

        // Assert
        Assert.Equal(255f, test.Features.Max());
        Assert.Equal(0f, test.Features.Min());
        Assert.All(test.Features, v => Assert.Equal(MathF.Floor(v), v));
    }

    [Fact]
    public void Load_UnknownName_ListsValidNames()
    {
        // Act
        var error = Assert.Throws<ArgumentException>(() => DatasetCatalog.Load("cifar-11"));

        // Assert
        Assert.Contains("cifar-11", error.Message);
        foreach (string name in DatasetCatalog.Names) Assert.Contains(name, error.Message);
    }

    [Fact]
    public void Sample_ReturnsThatSamplesSliceOfFeatures()
    {
        // Arrange
        Dataset train = SharedData.Get("digits").Train;

        // Act
        ReadOnlySpan<float> sample = train.Sample(5);

        // Assert
        Assert.Equal(64, sample.Length);
        Assert.True(sample.SequenceEqual(train.Features.AsSpan(5 * 64, 64)));
    }
}
