using System.Buffers.Binary;
using Ftte.Core;
using Ftte.Federation.Compression;

namespace Ftte.Federation.Tests.Compression;

/// <summary>Decoding refuses anything but an exact encoding of the expected count, saying what is wrong, and never reads past the buffer.</summary>
public class MalformedInputTests
{
    private static byte[] Encoded(string codec, int n, ulong seed = 1) =>
        CodecFixtures.Codec(codec).Encode(CodecFixtures.Gaussian(n, seed), new Rng(seed));

    private static FormatException Refused(string codec, byte[] data, int expected) =>
        Assert.Throws<FormatException>(() => CodecFixtures.Codec(codec).Decode(data, expected));

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(11)]
    public void ShorterThanTheHeader_IsTruncated(int length)
    {
        var e = Refused("q8", Encoded("q8", 300)[..length], 300);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AParameterPayload_IsNotACompressedUpdate()
    {
        var payload = Ftte.Engine.ParameterSerializer.Serialize(Ftte.Engine.Models.BuiltInModels.Mlp(inputs: 4, classes: 2, seed: 1));
        var e = Refused("float32", payload, 10);
        Assert.Contains("Not a compressed update", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnotherFormatVersion_IsRefused()
    {
        var data = Encoded("q8", 300);
        data[2] = 9;
        Assert.Contains("version 9", Refused("q8", data, 300).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("q4", "q8", "encoded with q4")]
    [InlineData("float16", "float32", "encoded with float16")]
    [InlineData("topk:0.01", "q2", "encoded with topk")]
    public void AnotherCodecsEncoding_IsRefused_NamingBoth(string writer, string reader, string expected)
    {
        var e = Refused(reader, Encoded(writer, 300), 300);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains($"this decoder is {reader}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownCodecId_IsRefused()
    {
        var data = Encoded("q8", 300);
        data[3] = 77;
        Assert.Contains("unknown codec id 77", Refused("q8", data, 300).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnotherCount_IsRefused()
    {
        var e = Refused("q8", Encoded("q8", 300), 299);
        Assert.Contains("holds 300 values", e.Message, StringComparison.Ordinal);
        Assert.Contains("299 were expected", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANegativeCount_IsRefused()
    {
        var data = Encoded("float32", 0);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4), -1);
        Assert.Contains("holds -1 values", Refused("float32", data, 0).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => UpdateCodec.Float32.Decode(data, -1));
    }

    [Theory]
    [InlineData("q8:128", "q8")]
    [InlineData("topk:0.1", "topk:0.01")]
    public void AnotherBlockField_IsRefused(string writer, string reader)
    {
        var e = Refused(reader, Encoded(writer, 300), 300);
        Assert.Contains("block field", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("float16")]
    [InlineData("q8")]
    [InlineData("q4")]
    [InlineData("q2")]
    [InlineData("topk:0.01")]
    public void ATruncatedBody_AndTrailingBytes_AreRefused(string codec)
    {
        var data = Encoded(codec, 300);
        Assert.Contains("truncated", Refused(codec, data[..^1], 300).Message, StringComparison.Ordinal);
        Assert.Contains("1 unexpected trailing bytes", Refused(codec, [.. data, 0], 300).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(-1f)]
    public void ABadScale_IsRefused_NamingTheBlock(float scale)
    {
        var data = Encoded("q8", 300);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(12 + 4), scale); // block 1
        var e = Refused("q8", data, 300);
        Assert.Contains("scale of block 1", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("q8", 255, "8-bit alphabet 0…254")]
    [InlineData("q2", 0b11, "2-bit alphabet 0…2")]
    [InlineData("q4", 0xF, "4-bit alphabet 0…14")]
    public void ACodeOutsideTheAlphabet_IsRefused(string codec, int code, string expected)
    {
        var data = Encoded(codec, 300);
        int codes = 12 + 4 * 2;
        int mask = (1 << int.Parse(codec[1..])) - 1;
        data[codes + 5] = (byte)((data[codes + 5] & ~mask) | code); // the first value packed in byte 5
        var e = Refused(codec, data, 300);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonzeroSpareBits_AreRefused()
    {
        var data = Encoded("q4", 301); // 301 four-bit codes: the last byte has 4 spare bits
        data[^1] |= 0xF0;
        Assert.Contains("spare bits", Refused("q4", data, 301).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1000, 0, 1, "not above the previous index")]       // entries 0 and 1 swapped
    [InlineData(1000, 1, 1, "not above the previous index")]       // a duplicate
    [InlineData(1000, 2, 1, "outside [0, 999]")]                   // past the end
    [InlineData(70_000, 2, 1, "outside [0, 69999]")]               // 4-byte indices
    [InlineData(70_000, 3, 1, "outside [0, 69999]")]               // a negative 4-byte index
    public void BadTopKIndices_AreRefused(int n, int damage, int entry, string expected)
    {
        var data = Encoded("topk:0.01", n);
        int width = n <= 65536 ? 2 : 4;
        int Read(int j) => width == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(12 + 2 * j)) : BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(12 + 4 * j));
        void Write(int j, int v)
        {
            if (width == 2) BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(12 + 2 * j), (ushort)v);
            else BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(12 + 4 * j), v);
        }
        int a = Read(entry - 1), b = Read(entry);
        switch (damage)
        {
            case 0: Write(entry - 1, b); Write(entry, a); break;
            case 1: Write(entry, a); break;
            case 2: Write(entry, n); break;
            default: Write(entry, -5); break;
        }

        Assert.Contains(expected, Refused("topk:0.01", data, n).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryTruncationOfEveryCodec_IsRefusedCleanly()
    {
        // No prefix of a valid encoding reads out of bounds or decodes: each is a FormatException.
        foreach (string codec in CodecFixtures.Names)
        {
            var data = Encoded(codec, 300);
            for (int length = 0; length < data.Length; length++)
                Refused(codec, data[..length], 300);
        }
    }
}
