using System.Collections.Concurrent;

namespace Ftte.Data.Tests;

/// <summary>
/// Loads each catalog dataset once per test run: tests only read them, and reloading MNIST for every
/// test would cost seconds for nothing.
/// </summary>
internal static class SharedData
{
    private static readonly ConcurrentDictionary<string, Lazy<DatasetSplits>> Cache = new();

    public static DatasetSplits Get(string name) =>
        Cache.GetOrAdd(name, n => new Lazy<DatasetSplits>(() => DatasetCatalog.Load(n))).Value;
}
