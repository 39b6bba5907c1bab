using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Ftte.Data.Internal;

namespace Ftte.Data.Tests;

public sealed class PackageArchiveTests
{
    /// <summary>An ar archive as in a .deb: magic, then 60-byte headers and even-padded members.</summary>
    private static byte[] Ar(params (string Name, byte[] Data)[] members)
    {
        var bytes = new List<byte>(Encoding.ASCII.GetBytes("!<arch>\n"));
        foreach ((string name, byte[] data) in members)
        {
            string header = $"{name,-16}{"0",-12}{"0",-6}{"0",-6}{"100644",-8}{data.Length,-10}`\n";
            bytes.AddRange(Encoding.ASCII.GetBytes(header));
            bytes.AddRange(data);
            if (data.Length % 2 == 1) bytes.Add((byte)'\n');
        }
        return [.. bytes];
    }

    private static byte[] TarGz(string entryName, byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Gnu))
        {
            var entry = new GnuTarEntry(TarEntryType.RegularFile, entryName) { DataStream = new MemoryStream(content) };
            tar.WriteEntry(entry);
        }
        return output.ToArray();
    }

    [Fact]
    public void ReadMembers_OddSizedMembers_SkipsPaddingBetweenThem()
    {
        // Arrange
        using var temp = new TempDirectory();
        string path = temp.Write("x.deb", Ar(("debian-binary", "2.0\n"u8.ToArray()), ("odd", [1, 2, 3]), ("last/", [9])));

        // Act
        List<ArReader.Member> members = ArReader.ReadMembers(path);

        // Assert
        Assert.Equal(["debian-binary", "odd", "last"], members.Select(m => m.Name));
        Assert.Equal([4L, 3L, 1L], members.Select(m => m.Size));
        using Stream odd = ArReader.OpenMember(path, members[1]);
        var read = new byte[10];
        Assert.Equal(3, odd.Read(read));
        Assert.Equal([1, 2, 3], read[..3]);
    }

    [Fact]
    public void ExtractFromDeb_GzipDataMember_ExtractsTheWantedFile()
    {
        // Arrange
        using var temp = new TempDirectory();
        string deb = temp.Write("p.deb", Ar(("debian-binary", "2.0\n"u8.ToArray()), ("data.tar.gz", TarGz("./usr/share/x/a.csv", "1,2,0\n"u8.ToArray()))));
        var wanted = new Dictionary<string, string> { ["usr/share/x/a.csv"] = temp.File("out/a.csv"), ["usr/share/x/b.csv"] = temp.File("out/b.csv") };

        // Act
        List<string> missing = PackageArchive.ExtractFromDeb(deb, wanted, temp.Path);

        // Assert
        Assert.Equal(["usr/share/x/b.csv"], missing);
        Assert.Equal("1,2,0\n", File.ReadAllText(temp.File("out/a.csv")));
    }

    [Fact]
    public void ReadMembers_MemberLongerThanFile_ThrowsTruncated()
    {
        // Arrange
        using var temp = new TempDirectory();
        byte[] whole = Ar(("data.tar.xz", new byte[100]));
        string path = temp.Write("t.deb", whole[..80]);

        // Act
        var error = Assert.Throws<DataFormatException>(() => ArReader.ReadMembers(path));

        // Assert
        Assert.Equal(80, error.Offset);
        Assert.Contains("100 bytes of member 'data.tar.xz'", error.Message);
    }

    [Fact]
    public void ReadMembers_NotAnArArchive_ThrowsAtOffsetZero()
    {
        // Arrange
        using var temp = new TempDirectory();
        string path = temp.Write("t.deb", "<html>not a package</html>"u8.ToArray());

        // Act
        var error = Assert.Throws<DataFormatException>(() => ArReader.ReadMembers(path));

        // Assert
        Assert.Equal(0, error.Offset);
        Assert.Contains("ar magic", error.Message);
    }

    [Fact]
    public void ExtractFromDeb_NoDataMember_Throws()
    {
        // Arrange
        using var temp = new TempDirectory();
        string deb = temp.Write("p.deb", Ar(("debian-binary", "2.0\n"u8.ToArray())));

        // Act + Assert
        var error = Assert.Throws<DataFormatException>(() => PackageArchive.ExtractFromDeb(deb, new Dictionary<string, string>(), temp.Path));
        Assert.Contains("data.tar", error.Message);
    }
}
