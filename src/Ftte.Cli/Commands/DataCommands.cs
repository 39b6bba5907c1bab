using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ftte.Data;

namespace Ftte.Cli.Commands;

/// <summary>`ftte data list|fetch|partition`: the dataset cache and federated partitions.</summary>
internal static class DataCommands
{
    public static Command Create() => new("data", "Real datasets (fetched and verified into a cache) and federated partitions.")
    {
        List(), Fetch(), Partition(),
    };

    private static DataOptions Options() => new() { Progress = new Progress<string>(Console.Error.WriteLine) };

    private static Command List()
    {
        var command = new Command("list", "List the datasets, how each is fetched, its size and whether it is cached.");
        command.SetAction(_ => Cli.Run(() =>
        {
            Console.WriteLine($"cache: {DataOptions.DefaultCacheDirectory}");
            foreach (string name in DatasetCatalog.Names)
            {
                (string fetch, long bytes) = DatasetCatalog.Describe(name);
                bool cached = DatasetCatalog.IsCached(name);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-14} {bytes,12:N0} B  {(cached ? "cached " : "absent ")}  `{fetch}`"));
            }
        }));
        return command;
    }

    private static Command Fetch()
    {
        var names = new Argument<string[]>("NAME") { Description = $"Datasets to fetch ({string.Join(", ", DatasetCatalog.Names)}), or 'all'.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("fetch", "Fetch datasets into the cache and verify their SHA-256 (does nothing if already there).") { names };
        command.SetAction(r => Cli.Run(() =>
        {
            string[] wanted = r.GetValue(names)!;
            foreach (string name in wanted.Contains("all", StringComparer.OrdinalIgnoreCase) ? DatasetCatalog.Names : wanted)
            {
                string directory = DatasetCatalog.Fetch(name, Options());
                Console.WriteLine($"{name}: {directory}");
            }
        }));
        return command;
    }

    private static Command Partition()
    {
        var dataset = new Option<string>("--dataset") { Description = "Dataset to partition (its train split).", DefaultValueFactory = _ => "mnist" };
        var devices = new Option<int>("--devices") { Description = "Number of devices.", DefaultValueFactory = _ => 100 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the partition.", DefaultValueFactory = _ => 1UL };
        var iid = new Option<bool>("--iid") { Description = "IID: uniformly random, equal sizes (the default scheme)." };
        var dirichlet = new Option<double?>("--dirichlet") { Description = "Label skew: Dirichlet concentration α (e.g. 0.5; small = skewed)." };
        var shards = new Option<int?>("--shards") { Description = "Pathological non-IID: K classes per device." };
        var quantity = new Option<double?>("--quantity-skew") { Description = "Quantity skew: σ of lognormal device sizes (e.g. 1.0)." };
        var validation = new Option<double>("--val-fraction") { Description = "Fraction of each device's data kept for local validation.", DefaultValueFactory = _ => 0.1 };
        var json = new Option<string?>("--json") { Description = "Write the statistics as JSON to FILE, or to stdout with no FILE.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("partition", "Partition a dataset over devices and print its statistics.")
        {
            dataset, devices, seed, iid, dirichlet, shards, quantity, validation, json,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            var chosen = new List<string>();
            if (r.GetValue(iid)) chosen.Add("--iid");
            if (r.GetValue(dirichlet) is not null) chosen.Add("--dirichlet");
            if (r.GetValue(shards) is not null) chosen.Add("--shards");
            if (r.GetValue(quantity) is not null) chosen.Add("--quantity-skew");
            if (chosen.Count > 1) throw new ArgumentException($"Choose one partition scheme, not {string.Join(" and ", chosen)}.");

            bool jsonToStdout = r.GetResult(json) is not null && r.GetValue(json) is null;
            Dataset train = DatasetCatalog.Load(r.GetValue(dataset)!, Options()).Train;
            var options = new PartitionOptions
            {
                Devices = r.GetValue(devices),
                Seed = r.GetValue(seed),
                ValidationFraction = r.GetValue(validation),
                Scheme = chosen.FirstOrDefault() switch
                {
                    "--dirichlet" => PartitionScheme.Dirichlet,
                    "--shards" => PartitionScheme.Shards,
                    "--quantity-skew" => PartitionScheme.QuantitySkew,
                    _ => PartitionScheme.Iid,
                },
                DirichletAlpha = r.GetValue(dirichlet) ?? 0.5,
                ClassesPerDevice = r.GetValue(shards) ?? 2,
                QuantitySigma = r.GetValue(quantity) ?? 1.0,
            };

            // What a partition costs: bytes allocated while building it, and the heap it keeps alive.
            long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Partition partition = Partitioner.Split(train, options);
            double milliseconds = clock.Elapsed.TotalMilliseconds;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            long retained = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
            PartitionStats stats = PartitionStats.Compute(partition);
            GC.KeepAlive(partition);

            if (!jsonToStdout)
            {
                Console.Write(stats.ToText());
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  partitioning         {milliseconds:0.#} ms, {allocated:N0} bytes allocated, {retained:N0} bytes retained (features: {train.Features.Length * sizeof(float):N0} bytes, not copied)"));
            }
            if (r.GetResult(json) is not null)
            {
                string text = JsonSerializer.Serialize(stats, JsonOptions);
                if (r.GetValue(json) is { } path)
                {
                    File.WriteAllText(path, text + "\n");
                    Console.WriteLine($"wrote {path}");
                }
                else Console.WriteLine(text);
            }
        }));
        return command;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
