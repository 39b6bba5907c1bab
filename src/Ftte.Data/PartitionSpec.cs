using System.Globalization;

namespace Ftte.Data;

/// <summary>
/// One device's share of a dataset, written on a command line: <c>mnist:device=3/10,dirichlet=0.5,seed=1</c>.
/// Every device of a testbed partitions the same dataset the same way (same seed) and keeps its own part, so
/// the parts are disjoint without any coordination — the same partition the simulator deals out.
/// Keys: <c>device=I/N</c> (required: part I of N, 0-based), one scheme of <c>iid</c>, <c>dirichlet=α</c>,
/// <c>shards=K</c>, <c>quantity-skew=σ</c> (default iid), <c>seed=S</c> (default 1), <c>val=F</c> (default 0.1).
/// </summary>
public sealed record PartitionSpec(string Dataset, int Device, PartitionOptions Options)
{
    public static PartitionSpec Parse(string text)
    {
        const string Example = "e.g. mnist:device=3/10,dirichlet=0.5,seed=1";
        var colon = text.IndexOf(':');
        if (colon <= 0) throw new FormatException($"Data spec '{text}' needs a dataset and a device share, {Example}.");
        string dataset = text[..colon];
        if (!DatasetCatalog.Names.Contains(dataset))
            throw new FormatException($"Unknown dataset '{dataset}' in data spec; expected one of {string.Join(", ", DatasetCatalog.Names)}.");
        int? device = null, devices = null;
        var kind = PartitionScheme.Iid;
        double alpha = 0.5, sigma = 1.0, validation = 0.1;
        int classes = 2;
        ulong seed = 1;
        string? scheme = null;
        foreach (var part in text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2);
            string key = kv[0], value = kv.Length == 2 ? kv[1] : "";
            void OneScheme()
            {
                if (scheme is not null) throw new FormatException($"Data spec '{text}' names two partition schemes ({scheme} and {key}); choose one.");
                scheme = key;
            }
            switch (key)
            {
                case "device":
                    var io = value.Split('/');
                    if (io.Length != 2 || !int.TryParse(io[0], out int i) || !int.TryParse(io[1], out int n) || n < 1 || i < 0 || i >= n)
                        throw new FormatException($"device={value}: expected I/N with 0 ≤ I < N, e.g. device=3/10.");
                    (device, devices) = (i, n);
                    break;
                case "iid": OneScheme(); kind = PartitionScheme.Iid; break;
                case "dirichlet": OneScheme(); kind = PartitionScheme.Dirichlet; alpha = Number(key, value, 1e-6); break;
                case "shards": OneScheme(); kind = PartitionScheme.Shards; classes = (int)Number(key, value, 1); break;
                case "quantity-skew": OneScheme(); kind = PartitionScheme.QuantitySkew; sigma = Number(key, value, 0); break;
                case "seed": seed = (ulong)Number(key, value, 0); break;
                case "val": validation = Number(key, value, 0); break;
                default: throw new FormatException($"Unknown key '{key}' in data spec; expected device, iid, dirichlet, shards, quantity-skew, seed, val ({Example}).");
            }
        }
        if (device is null) throw new FormatException($"Data spec '{text}' does not say which share this device holds: add device=I/N, {Example}.");
        return new PartitionSpec(dataset, device.Value, new PartitionOptions
        {
            Devices = devices!.Value, Scheme = kind, DirichletAlpha = alpha, ClassesPerDevice = classes,
            QuantitySigma = sigma, ValidationFraction = validation, Seed = seed,
        });
    }

    private static double Number(string key, string value, double min)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v >= min) || !double.IsFinite(v))
            throw new FormatException($"{key}={value}: expected a number ≥ {min.ToString(CultureInfo.InvariantCulture)}.");
        return v;
    }

    /// <summary>Loads the dataset and returns this device's training data.</summary>
    public DatasetView Load(DataOptions? data = null) => LoadParts(data).Train;

    /// <summary>This device's training data and its held-out validation data (the spec's val share).</summary>
    public (DatasetView Train, DatasetView Validation) LoadParts(DataOptions? data = null)
    {
        var partition = Partitioner.Split(DatasetCatalog.Load(Dataset, data).Train, Options);
        return (partition.Train(Device), partition.Validation(Device));
    }
}
