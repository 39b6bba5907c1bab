using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Ftte.Core.Config;
using Ftte.Reporting;
using Ftte.Simulation;
using Ftte.Federation.Config;
using Ftte.Simulation.Config;
using Ftte.Simulation.Fleet;

namespace Ftte.Cli.Commands;

/// <summary>`ftte simulate` (one strategy) and `ftte compare` (several on the same fleet, data and seed).</summary>
internal static class SimulationCommands
{
    private static readonly Option<string?> ConfigOption = new("--config") { Description = "Experiment config (JSON); see `ftte simulate --describe` for every key." };
    private static readonly Option<string?> PresetOption = new("--preset") { Description = $"Ready-made experiment: {string.Join(", ", SimulationPresets.Names)} (default quick when no --config)." };
    private static readonly Option<string?> StrategyOption = new("--strategy") { Description = "Strategy to run, by kind or name (fedavg, fedasync, fedbuff); compare takes a comma list." };
    private static readonly Option<int?> DevicesOption = new("--devices") { Description = "Number of devices (fleet.devices)." };
    private static readonly Option<ulong?> SeedOption = new("--seed") { Description = "Seed of everything (seed)." };
    private static readonly Option<int?> WorkersOption = new("--workers") { Description = "Training threads (run.workers; results do not depend on it)." };
    private static readonly Option<string?> MaxTimeOption = new("--max-time") { Description = "Virtual time to simulate, e.g. 30min (run.maxTime)." };
    private static readonly Option<bool> IgnoreMemoryOption = new("--ignore-memory") { Description = "Let every device run every task regardless of memory (run.ignoreMemory)." };
    private static readonly Option<string?> OutOption = new("--out") { Description = "Output directory (default runs/<name>)." };
    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print summary.json to stdout instead of the table." };
    private static readonly Option<string[]> SetOption = new("--set") { Description = "Override any key: --set fleet.preset=stragglers-90 --set strategies[0].bufferSize=5.", AllowMultipleArgumentsPerToken = false };
    private static readonly Option<bool> DescribeOption = new("--describe") { Description = "List every config key with its type, default and allowed values, then exit." };
    private static readonly Option<bool> NoScalingOption = new("--no-scaling") { Description = "Skip the config's scaling run (re-runs at other fleet sizes)." };
    private static readonly Option<bool> PrintConfigOption = new("--print-config") { Description = "Print the resolved config (preset + file + flags) as JSON, then exit." };

    public static IEnumerable<Command> Create()
    {
        yield return Build("simulate", "Simulate one strategy on a fleet with real training and a virtual clock; writes metrics.csv, summary.json, report.html.", single: true);
        yield return Build("compare", "Run several strategies on the same fleet, data and seed; one report with all of them.", single: false);
    }

    private static Command Build(string name, string description, bool single)
    {
        var command = new Command(name, description)
        {
            ConfigOption, PresetOption, StrategyOption, DevicesOption, SeedOption, WorkersOption, MaxTimeOption, IgnoreMemoryOption,
            OutOption, JsonOption, SetOption, DescribeOption, PrintConfigOption, NoScalingOption,
        };
        command.SetAction(r => Cli.Run(() =>
        {
            if (r.GetValue(DescribeOption)) { Describe(); return; }
            var config = Resolve(r);
            var strategies = SelectStrategies(config, r.GetValue(StrategyOption), single, name);
            if (r.GetValue(PrintConfigOption)) { Console.WriteLine(StrictJson.Serialize(config with { Strategies = strategies })); return; }
            if (r.GetValue(NoScalingOption) || single) config = config with { Scaling = null };
            Execute(config, strategies, r.GetValue(OutOption), r.GetValue(JsonOption));
        }));
        return command;
    }

    /// <summary>Preset or file, then --set overrides, then the named flags; bound strictly.</summary>
    private static SimulationConfig Resolve(ParseResult r)
    {
        string? file = r.GetValue(ConfigOption);
        string? preset = r.GetValue(PresetOption);
        string source;
        string json;
        if (file is not null)
        {
            if (!File.Exists(file)) throw new FileNotFoundException($"Config file '{file}' does not exist.", file);
            json = File.ReadAllText(file);
            source = file;
            if (preset is not null) throw new ArgumentException("Give --config or --preset, not both (a config file can start from a preset's printout: ftte compare --preset quick --print-config).");
        }
        else
        {
            json = StrictJson.Serialize(SimulationPresets.Get(preset ?? "quick"));
            source = $"preset '{preset ?? "quick"}'";
        }
        var overrides = new List<string>(r.GetValue(SetOption) ?? []);
        if (r.GetValue(DevicesOption) is { } devices) overrides.Add($"fleet.devices={devices}");
        if (r.GetValue(SeedOption) is { } seed) overrides.Add($"seed={seed}");
        if (r.GetValue(WorkersOption) is { } workers) overrides.Add($"run.workers={workers}");
        if (r.GetValue(MaxTimeOption) is { } maxTime) overrides.Add($"run.maxTime={JsonValue.Create(maxTime).ToJsonString()}");
        if (r.GetValue(IgnoreMemoryOption)) overrides.Add("run.ignoreMemory=true");
        return StrictJson.Parse<SimulationConfig>(json, source, overrides);
    }

    /// <summary>
    /// The comma-separated names of --strategy. Labels may hold commas themselves ("FTTE, nested subsets"), so consecutive
    /// parts are joined back into the longest configured label they spell.
    /// </summary>
    private static List<string> SplitLabels(string filter, IReadOnlyList<StrategyConfig> strategies)
    {
        var parts = filter.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var names = new List<string>();
        for (int i = 0; i < parts.Length;)
        {
            int take = 1;
            for (int n = parts.Length - i; n > 1; n--)
                if (strategies.Any(s => string.Equals(s.Label, string.Join(", ", parts, i, n), StringComparison.OrdinalIgnoreCase))) { take = n; break; }
            names.Add(string.Join(", ", parts, i, take));
            i += take;
        }
        return names;
    }

    private static IReadOnlyList<StrategyConfig> SelectStrategies(SimulationConfig config, string? filter, bool single, string command)
    {
        IReadOnlyList<StrategyConfig> chosen = config.Strategies;
        if (filter is not null)
        {
            var list = new List<StrategyConfig>();
            foreach (string w in SplitLabels(filter, config.Strategies))
            {
                var match = config.Strategies.FirstOrDefault(s => string.Equals(s.Label, w, StringComparison.OrdinalIgnoreCase))
                            ?? config.Strategies.FirstOrDefault(s => string.Equals(s.Kind.ToString(), w.Replace("-", ""), StringComparison.OrdinalIgnoreCase));
                if (match is null)
                {
                    // Not configured: a strategy of that kind with its defaults.
                    if (!Enum.TryParse<StrategyKind>(w.Replace("-", ""), ignoreCase: true, out var kind))
                        throw new ArgumentException($"--strategy '{w}' is neither a configured strategy ({string.Join(", ", config.Strategies.Select(s => s.Label))}) nor a kind (fedavg, fedasync, fedbuff).");
                    match = new StrategyConfig { Kind = kind };
                }
                list.Add(match);
            }
            chosen = list;
        }
        if (single && chosen.Count != 1)
            throw new ArgumentException($"`ftte {command}` runs one strategy; choose it with --strategy ({string.Join(", ", chosen.Select(s => s.Label))}), or use `ftte compare`.");
        return chosen;
    }

    private static void Execute(SimulationConfig config, IReadOnlyList<StrategyConfig> strategies, string? outDir, bool json)
    {
        var started = DateTime.UtcNow;
        // The output directory is made (or refused) before any run, so a bad --out never costs the runs' results.
        string dir = outDir ?? Path.Combine("runs", config.Name);
        if (File.Exists(dir)) throw new IOException($"--out '{dir}' is a file; give a directory for metrics.csv, summary.json and report.html.");
        Directory.CreateDirectory(dir);
        Console.Error.WriteLine($"Preparing {config.Name}: {config.Fleet.Devices} devices ({config.Fleet.File ?? config.Fleet.Preset}), {config.Data.Dataset}, {config.Model}…");
        // A first run fetches the dataset: say so rather than pause silently.
        var experiment = Experiment.Build(config, new Ftte.Data.DataOptions { Progress = new Progress<string>(Console.Error.WriteLine) });
        // Strategies are built again per run; building them all first reports config mistakes before any run starts.
        foreach (var s in strategies) experiment.CreateStrategy(s);
        var runs = new List<RunResult>();
        var skipped = new List<(string, string)>();
        foreach (var s in strategies)
        {
            using var progress = new ProgressReporter(config.Run.MaxTime);
            try
            {
                runs.Add(experiment.RunOne(s, p => progress.Report(s.Label, p.Time, p.Version, p.Accuracy)));
            }
            catch (InvalidOperationException e) when (strategies.Count > 1)
            {
                // One strategy that cannot start here (e.g. an ablation whose set does not fit the budget) is a result
                // to report, not a reason to lose the other runs.
                Console.Error.WriteLine($"{s.Label}: not run: {e.Message}");
                skipped.Add((s.Label, e.Message));
            }
        }
        if (runs.Count == 0) throw new InvalidOperationException("No strategy could run; see the messages above.");
        var comparison = experiment.Combine(runs, skipped);
        if (config.Scaling is { } scaling)
        {
            Console.Error.WriteLine($"Scaling run: {string.Join(", ", scaling.Devices)} devices…");
            // One reporter: a new label finishes the previous line and restarts the ETA.
            using var progress = new ProgressReporter(config.Run.MaxTime);
            var points = experiment.RunScaling(runs, (devices, s) => p => progress.Report($"{s.Label} @ {devices}", p.Time, p.Version, p.Accuracy));
            comparison = comparison with { Scaling = points };
        }
        var files = ReportFiles.Write(dir, comparison);
        File.WriteAllText(Path.Combine(dir, "config.json"), StrictJson.Serialize(config with { Strategies = strategies }));
        if (json)
        {
            Console.WriteLine(SummaryJson.ToJson(comparison));
            return;
        }
        Console.WriteLine();
        Console.WriteLine(comparison.Title);
        Console.Write(TerminalTable.Render(comparison, Console.IsOutputRedirected ? 0 : Math.Max(80, SafeWindowWidth())));
        foreach (var run in runs)
            foreach (string note in run.Summary.Notes) Console.WriteLine($"  {run.Strategy}: {note}");
        foreach (var (label, reason) in skipped) Console.WriteLine($"  {label}: not run: {reason}");
        Console.WriteLine();
        Console.WriteLine($"Report: {Path.GetFullPath(files[2])}");
        Console.WriteLine($"Metrics: {Path.GetFullPath(files[0])}, summary: {Path.GetFullPath(files[1])}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Wall time: {(DateTime.UtcNow - started).TotalSeconds:F0} s"));
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";

    private static int SafeWindowWidth()
    {
        try { return Console.WindowWidth; } catch (IOException) { return 120; }
    }

    /// <summary>Every key of a config type: type, default, allowed values, meaning (for --describe).</summary>
    internal static void DescribeKeys<T>()
    {
        var table = new TextTable(["key", "type", "default", "allowed / range", "meaning"]);
        foreach (var k in StrictJson.Describe<T>())
            table.AddRow([k.Path, k.Type, Shorten(k.Default ?? (k.Required ? "(required)" : "")),
                k.AllowedValues.Count > 0 ? string.Join("|", k.AllowedValues) : k.Range ?? "", k.Doc ?? ""]);
        Console.Write(table.Render());
    }

    private static void Describe()
    {
        DescribeKeys<SimulationConfig>();
        Console.WriteLine($"Presets: {string.Join(", ", SimulationPresets.Names)}. Fleet presets: {string.Join(", ", FleetPresets.Names)}.");
    }
}
