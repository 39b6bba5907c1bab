using System.Globalization;

namespace Ftte.Bench;

/// <summary>The few option forms the benchmarks share: flags (--json) and valued options (--seconds 2).</summary>
internal static class BenchArgs
{
    public static bool Flag(string[] args, string name) => Array.IndexOf(args, name) >= 0;

    public static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public static double Double(string[] args, string name, double fallback)
        => Value(args, name) is { } s ? double.Parse(s, CultureInfo.InvariantCulture) : fallback;

    public static string[] List(string[] args, string name, string fallback)
        => (Value(args, name) ?? fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
