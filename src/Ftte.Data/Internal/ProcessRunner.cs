using System.ComponentModel;
using System.Diagnostics;

namespace Ftte.Data.Internal;

/// <summary>Runs the package tools (npm, apt-get, xz, dpkg-deb) as child processes.</summary>
internal static class ProcessRunner
{
    internal sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    /// <summary>Thrown when the program is not installed (not on PATH).</summary>
    internal sealed class ToolMissingException(string tool, Exception inner)
        : Exception($"'{tool}' is not installed or not on PATH.", inner)
    {
        public string Tool { get; } = tool;
    }

    public static Result Run(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        using Process process = Start(fileName, arguments, workingDirectory);
        // Both pipes are drained concurrently: a tool that fills stderr while we wait on stdout would deadlock.
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{fileName}' did not finish within {timeout.TotalSeconds:0} s.");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts a process whose standard output the caller reads as a stream (e.g. a decompressor).</summary>
    public static Process Start(string fileName, IEnumerable<string> arguments, string workingDirectory, bool redirectInput = false)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        try
        {
            return Process.Start(info) ?? throw new ToolMissingException(fileName, new InvalidOperationException("Process.Start returned null."));
        }
        catch (Win32Exception e)
        {
            throw new ToolMissingException(fileName, e);
        }
    }
}
