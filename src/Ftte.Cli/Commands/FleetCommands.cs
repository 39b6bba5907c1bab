using System.CommandLine;
using System.Globalization;
using Ftte.Core;
using Ftte.Reporting;
using Ftte.Simulation.Fleet;

namespace Ftte.Cli.Commands;

/// <summary>`ftte fleet generate|show`: make a fleet file from a preset (to edit or replace with your own traces) and inspect one.</summary>
internal static class FleetCommands
{
    public static Command Create()
    {
        var fleet = new Command("fleet", "Simulated device fleets: generate a file from a preset, or summarise a fleet by tier (format: docs/fleets.md).");
        fleet.Subcommands.Add(Generate());
        fleet.Subcommands.Add(Show());
        return fleet;
    }

    private static Command Generate()
    {
        var preset = new Option<string>("--preset") { Description = $"DeviceFleet preset: {string.Join(", ", FleetPresets.Names)}.", DefaultValueFactory = _ => "tiers4" };
        var devices = new Option<int>("--devices") { Description = "Number of devices.", DefaultValueFactory = _ => 100 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the per-device spread.", DefaultValueFactory = _ => 1UL };
        var output = new Option<string>("--out") { Description = "File to write: .json or .csv.", Required = true };
        var command = new Command("generate", "Write a fleet generated from a preset to a JSON or CSV file.") { preset, devices, seed, output };
        command.SetAction(r => Cli.Run(() =>
        {
            var generated = FleetPresets.Create(r.GetValue(preset)!, r.GetValue(devices), r.GetValue(seed));
            string path = r.GetValue(output)!;
            FleetFile.Save(generated, path);
            Console.WriteLine($"Wrote {generated.Count} devices to {path}; use it with --set fleet.file={path}");
            Console.WriteLine(Summarise(generated));
        }));
        return command;
    }

    private static Command Show()
    {
        var file = new Option<string?>("--file") { Description = "A fleet file (.json or .csv)." };
        var preset = new Option<string?>("--preset") { Description = "Or a preset." };
        var devices = new Option<int>("--devices") { Description = "Devices, with --preset.", DefaultValueFactory = _ => 100 };
        var seed = new Option<ulong>("--seed") { Description = "Seed, with --preset.", DefaultValueFactory = _ => 1UL };
        var command = new Command("show", "Summarise a fleet by tier: devices, memory, compute, links, availability, dropout.") { file, preset, devices, seed };
        command.SetAction(r => Cli.Run(() =>
        {
            var fleet = r.GetValue(file) is { } path ? FleetFile.Load(path)
                : FleetPresets.Create(r.GetValue(preset) ?? "tiers4", r.GetValue(devices), r.GetValue(seed));
            Console.WriteLine(Summarise(fleet));
        }));
        return command;
    }

    /// <summary>Per tier: count and the median (min–max) of each capability.</summary>
    private static string Summarise(DeviceFleet fleet)
    {
        var table = new TextTable(["tier", "devices", "memory", "compute", "downlink", "uplink", "latency", "availability", "dropout"],
            [ColumnAlignment.Left, ColumnAlignment.Right, ColumnAlignment.Right, ColumnAlignment.Right, ColumnAlignment.Right,
             ColumnAlignment.Right, ColumnAlignment.Right, ColumnAlignment.Left, ColumnAlignment.Right]);
        foreach (string tier in fleet.Tiers)
        {
            var d = fleet.Devices.Where(x => x.Tier == tier).ToArray();
            table.AddRow(tier, d.Length.ToString(CultureInfo.InvariantCulture),
                Range(d, x => x.MemoryBytes, v => ByteSize.Format((long)v)),
                Range(d, x => x.FlopsPerSecond, v => Si(v, "FLOP/s")),
                Range(d, x => x.DownlinkBitsPerSecond, v => Si(v, "bit/s")),
                Range(d, x => x.UplinkBitsPerSecond, v => Si(v, "bit/s")),
                Range(d, x => x.LatencySeconds, v => v.ToString("0.###", CultureInfo.InvariantCulture) + " s"),
                string.Join(", ", d.Select(x => x.Availability.Kind.ToString().ToLowerInvariant()).Distinct()),
                d.Average(x => x.DropoutProbability).ToString("0.###", CultureInfo.InvariantCulture));
        }
        return table.Render(Console.IsOutputRedirected ? int.MaxValue : 160);
    }

    private static string Range(DeviceProfile[] devices, Func<DeviceProfile, double> value, Func<double, string> format)
    {
        var sorted = devices.Select(value).Order().ToArray();
        return sorted.Length == 0 ? "" : $"{format(sorted[sorted.Length / 2])} ({format(sorted[0])}–{format(sorted[^1])})";
    }

    private static string Si(double v, string unit)
    {
        string[] prefixes = ["", "k", "M", "G", "T"];
        int i = 0;
        while (v >= 1000 && i < prefixes.Length - 1) { v /= 1000; i++; }
        return v.ToString(v < 10 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + " " + prefixes[i] + unit;
    }
}
