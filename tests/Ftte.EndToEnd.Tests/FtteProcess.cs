using System.Collections.Concurrent;
using System.Diagnostics;

namespace Ftte.EndToEnd.Tests;

/// <summary>A running `ftte` command (the built ftte.dll of this configuration), its output collected line by line.</summary>
internal sealed class FtteProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private FtteProcess(Process process, string label)
    {
        _process = process;
        Label = label;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Label { get; }
    public IReadOnlyList<string> Lines => [.. _lines];
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public string Output => string.Join('\n', _lines);

    public static FtteProcess Start(string label, string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(FtteDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        return new FtteProcess(Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start."), label);
    }

    /// <summary>kill -9: no shutdown code runs.</summary>
    public void Kill() { if (!_process.HasExited) _process.Kill(entireProcessTree: true); _process.WaitForExit(); }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); return true; }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>Waits for an output line matching <paramref name="predicate"/>; fails with the output so far on timeout or exit.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (_lines.FirstOrDefault(predicate) is { } line) return line;
            if (_process.HasExited && _lines.FirstOrDefault(predicate) is null)
                throw new Xunit.Sdk.XunitException($"{Label} exited ({_process.ExitCode}) before the expected line:\n{Output}");
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"{Label}: no expected line within {timeout.TotalSeconds:0} s:\n{Output}");
    }

    public void Dispose()
    {
        try { Kill(); } catch (InvalidOperationException) { }
        _process.Dispose();
    }

    /// <summary>The ftte.dll built next to this test assembly's configuration (…/src/Ftte.Cli/bin/&lt;Config&gt;/net10.0/ftte.dll).</summary>
    public static string FtteDll { get; } = FindFtte();

    private static string FindFtte()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        string configuration = dir.Parent?.Name ?? "Release"; // …/bin/<Config>/net10.0/
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ftte.sln"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("Cannot find the repository root (Ftte.sln) above the test assembly.");
        string path = Path.Combine(dir.FullName, "src", "Ftte.Cli", "bin", configuration, "net10.0", "ftte.dll");
        if (!File.Exists(path)) throw new InvalidOperationException($"'{path}' is missing: build the solution first (dotnet build -c {configuration}).");
        return path;
    }
}
