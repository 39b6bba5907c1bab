using Ftte.Core;

namespace Ftte.Data.Internal;

/// <summary>Seeded, stratified train/test split for datasets shipped without one.</summary>
internal static class Splitter
{
    public static DatasetSplits CsvSplits(string name, string path, CsvFormat format, float? imageMax, DataOptions options)
    {
        Dataset all = DatasetFiles.FromCsv(name, path, format);
        (Dataset train, Dataset test) = Split(all, options.TestFraction, options.SplitSeed);
        if (imageMax is float max) Normalizer.Images(train.Features, test.Features, max, options.Normalization);
        else Normalizer.Columns(train.Features, test.Features, train.SampleSize, options.Normalization);
        return new DatasetSplits(train, test);
    }

    /// <summary>
    /// Holds out round(testFraction · n_c) samples of every class c, chosen by the seed; both parts keep
    /// the file's order. Stratified because iris has 50 samples per class: a plain random 20% could
    /// leave a class nearly absent from the test split.
    /// </summary>
    public static (Dataset Train, Dataset Test) Split(Dataset all, double testFraction, ulong seed)
    {
        var rng = new Rng(seed);
        var isTest = new bool[all.Count];
        for (int c = 0; c < all.ClassCount; c++)
        {
            int[] members = [.. Enumerable.Range(0, all.Count).Where(i => all.Labels[i] == c)];
            rng.Shuffle(members.AsSpan());
            int take = (int)Math.Round(testFraction * members.Length);
            foreach (int i in members.AsSpan(0, take)) isTest[i] = true;
        }
        return (Take(all, isTest, false, "train"), Take(all, isTest, true, "test"));
    }

    private static Dataset Take(Dataset all, bool[] isTest, bool test, string part)
    {
        int[] rows = [.. Enumerable.Range(0, all.Count).Where(i => isTest[i] == test)];
        int size = all.SampleSize;
        var features = new float[rows.Length * size];
        var labels = new int[rows.Length];
        int[]? groups = all.Groups is null ? null : new int[rows.Length];
        for (int r = 0; r < rows.Length; r++)
        {
            all.Sample(rows[r]).CopyTo(features.AsSpan(r * size, size));
            labels[r] = all.Labels[rows[r]];
            if (groups is not null) groups[r] = all.Groups![rows[r]];
        }
        return new Dataset($"{all.Name}/{part}", features, labels, all.SampleShape, all.ClassCount, groups);
    }
}
