using System.Globalization;
using System.Text;

namespace Ftte.Data.Internal;

/// <summary>
/// Reads the Unix `ar` archive that every .deb is: the magic "!&lt;arch&gt;\n", then members, each a
/// 60-byte text header (name 16, mtime 12, uid 6, gid 6, mode 8, size 10, "`\n") and its data padded
/// to an even length. A .deb holds debian-binary, control.tar.* and data.tar.*.
/// </summary>
internal static class ArReader
{
    private const string Magic = "!<arch>\n";
    private const int HeaderBytes = 60;

    internal sealed record Member(string Name, long Offset, long Size);

    public static List<Member> ReadMembers(string path)
    {
        using var file = File.OpenRead(path);
        var magic = new byte[Magic.Length];
        if (file.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) != magic.Length || Encoding.ASCII.GetString(magic) != Magic)
            throw new DataFormatException(path, 0, "the ar magic \"!<arch>\\n\" of a .deb package");

        var members = new List<Member>();
        var header = new byte[HeaderBytes];
        long offset = Magic.Length;
        while (offset < file.Length)
        {
            file.Position = offset;
            if (file.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) != HeaderBytes)
                throw new DataFormatException(path, offset, $"a {HeaderBytes}-byte ar member header", "end of file (truncated)");
            if (header[58] != (byte)'`' || header[59] != (byte)'\n')
                throw new DataFormatException(path, offset + 58, "the ar header terminator \"`\\n\"");
            string name = Encoding.ASCII.GetString(header, 0, 16).TrimEnd(' ').TrimEnd('/');
            string sizeText = Encoding.ASCII.GetString(header, 48, 10).Trim();
            if (!long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out long size))
                throw new DataFormatException(path, offset + 48, "a decimal member size", $"\"{sizeText}\"");
            long dataOffset = offset + HeaderBytes;
            if (dataOffset + size > file.Length)
                throw new DataFormatException(path, file.Length, $"{size} bytes of member '{name}' starting at {dataOffset}", "end of file (truncated)");
            members.Add(new Member(name, dataOffset, size));
            offset = dataOffset + size + (size & 1);
        }
        return members;
    }

    /// <summary>A read-only stream over one member's bytes.</summary>
    public static Stream OpenMember(string path, Member member)
    {
        var file = File.OpenRead(path);
        file.Position = member.Offset;
        return new SubStream(file, member.Size);
    }

    /// <summary>A window onto [Position, Position + length) of an owned stream.</summary>
    private sealed class SubStream(Stream inner, long size) : Stream
    {
        private readonly long _length = size;
        private long _remaining = size;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _length - _remaining; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_remaining == 0) return 0;
            int n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
            _remaining -= n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
