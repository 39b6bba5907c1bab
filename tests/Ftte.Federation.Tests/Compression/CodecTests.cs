using Ftte.Core;
using Ftte.Federation.Compression;

namespace Ftte.Federation.Tests.Compression;

/// <summary>Round trips, exact sizes, names and determinism of every codec.</summary>
public class CodecTests
{
    public static TheoryData<string, int> NamesAndLengths() => CodecFixtures.NamesAndLengths();

    [Theory]
    [MemberData(nameof(NamesAndLengths))]
    public void Encode_WritesExactlyEncodedSize_AndDecodesToTheExpectedCount(string name, int n)
    {
        var codec = CodecFixtures.Codec(name);
        var x = CodecFixtures.Gaussian(n, seed: 1);

        var bytes = codec.Encode(x, new Rng(2));
        var decoded = codec.Decode(bytes, n);

        Assert.Equal(codec.EncodedSize(n), bytes.Length);
        Assert.Equal(n, decoded.Length);
    }

    [Theory]
    [InlineData("float32", 300, 12 + 4 * 300)]
    [InlineData("float16", 300, 12 + 2 * 300)]
    [InlineData("q8", 300, 12 + 4 * 2 + 300)]
    [InlineData("q4", 300, 12 + 4 * 2 + 150)]
    [InlineData("q2", 301, 12 + 4 * 2 + 76)]
    [InlineData("q8:128", 300, 12 + 4 * 3 + 300)]
    [InlineData("topk:0.01", 300, 12 + 3 * (2 + 4))]
    [InlineData("topk:0.01", 70_000, 12 + 700 * (4 + 4))]
    [InlineData("topk:0.01", 5, 12 + 1 * (2 + 4))]
    [InlineData("q8", 0, 12)]
    [InlineData("topk:0.01", 0, 12)]
    public void EncodedSize_FollowsTheLayout(string name, int n, long expected)
    {
        Assert.Equal(expected, CodecFixtures.Codec(name).EncodedSize(n));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    [InlineData(2048)]
    public void Float32_RoundTrip_IsExact_EvenForSpecialValues(int n)
    {
        var x = CodecFixtures.Gaussian(n, seed: 3);
        if (n > 4) { x[0] = float.NaN; x[1] = float.NegativeInfinity; x[2] = -0f; x[3] = float.Epsilon; }

        var decoded = UpdateCodec.Float32.Decode(UpdateCodec.Float32.Encode(x, new Rng(1)), n);

        Assert.Equal(x.Select(BitConverter.SingleToInt32Bits), decoded.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Float16_RoundsToNearestEven_WithinHalfAnUlp()
    {
        var x = CodecFixtures.Gaussian(4096, seed: 4);
        var decoded = UpdateCodec.Float16.Decode(UpdateCodec.Float16.Encode(x, new Rng(1)), x.Length);

        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal((float)(Half)x[i], decoded[i]);
            float a = MathF.Abs(x[i]);
            // Normal halves carry 11 significant bits: |error| ≤ 2⁻¹¹·|x|; subnormal ones are spaced 2⁻²⁴: |error| ≤ 2⁻²⁵.
            double bound = a >= MathF.Pow(2, -14) ? Math.Pow(2, -11) * a : Math.Pow(2, -25);
            Assert.True(Math.Abs(decoded[i] - x[i]) <= bound, $"value {i}: {x[i]} became {decoded[i]}");
        }
    }

    [Fact]
    public void Float16_BreaksTiesToEven_AndOverflowsToInfinity()
    {
        float ulp = MathF.Pow(2, -10); // spacing of halves in [1, 2)
        float[] x = [1 + ulp / 2, 1 + 3 * ulp / 2, 70_000f, -70_000f];

        var decoded = UpdateCodec.Float16.Decode(UpdateCodec.Float16.Encode(x, new Rng(1)), x.Length);

        Assert.Equal(1f, decoded[0]);             // halfway between 1 and 1+ulp: the even one, 1
        Assert.Equal(1 + 2 * ulp, decoded[1]);    // halfway between 1+ulp and 1+2ulp: the even one
        Assert.Equal(float.PositiveInfinity, decoded[2]);
        Assert.Equal(float.NegativeInfinity, decoded[3]);
    }

    [Theory]
    [InlineData("q8")]
    [InlineData("q4")]
    [InlineData("q2")]
    [InlineData("topk:0.1")]
    public void Encode_IsAFunctionOfValuesAndSeed(string name)
    {
        var codec = CodecFixtures.Codec(name);
        var x = CodecFixtures.Gaussian(1000, seed: 5);

        var a = codec.Encode(x, new Rng(7));
        var b = codec.Encode(x, new Rng(7));
        var c = codec.Encode(x, new Rng(8));

        Assert.Equal(a, b);
        if (codec.IsUnbiased) Assert.NotEqual(a, c);
        else Assert.Equal(a, c); // top-k is deterministic
    }

    [Fact]
    public void Encode_IntoASpan_MatchesTheArrayForm_AndRefusesAShortDestination()
    {
        var codec = StochasticQuantizer.Q4;
        var x = CodecFixtures.Gaussian(300, seed: 6);
        var buffer = new byte[codec.EncodedSize(300) + 10];

        int written = codec.Encode(x, buffer, new Rng(3));

        Assert.Equal(codec.Encode(x, new Rng(3)), buffer[..written]);
        var e = Assert.Throws<ArgumentException>(() => codec.Encode(x, new byte[written - 1], new Rng(3)));
        Assert.Contains($"needs {written}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("q8")]
    [InlineData("q2")]
    [InlineData("topk:0.1")]
    public void LossyCodecs_RefuseNonFiniteValues_NamingTheIndex(string name)
    {
        var x = CodecFixtures.Gaussian(600, seed: 7);
        x[437] = float.NaN;

        var e = Assert.Throws<ArgumentException>(() => CodecFixtures.Codec(name).Encode(x, new Rng(1)));

        Assert.Contains("value 437", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("float16")]
    [InlineData("q8")]
    [InlineData("q4")]
    [InlineData("q2")]
    [InlineData("q4:64")]
    [InlineData("topk:0.01")]
    [InlineData("topk:0.25")]
    [InlineData(" q8 ")]
    public void Parse_ReadsBackEveryName(string name)
    {
        var codec = UpdateCodec.Parse(name);

        Assert.Equal(name.Trim(), codec.Name);
        Assert.Equal(codec.Name, UpdateCodec.Parse(codec.Name).Name);
    }

    [Theory]
    [InlineData("q16", "unknown codec 'q16'")]
    [InlineData("fp16", "unknown codec 'fp16'")]
    [InlineData("", "unknown codec ''")]
    [InlineData("topk:0", "0 < R ≤ 1")]
    [InlineData("topk:1.5", "0 < R ≤ 1")]
    [InlineData("topk:many", "got 'many'")]
    [InlineData("q8:100", "multiple of 8")]
    [InlineData("q8:8192", "multiple of 8")]
    public void Parse_RefusesBadNames_ListingWhatIsAllowed(string name, string expected)
    {
        var e = Assert.Throws<FormatException>(() => UpdateCodec.Parse(name));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        if (expected.StartsWith("unknown", StringComparison.Ordinal))
            foreach (string allowed in new[] { "float32", "float16", "q8", "q4", "q2", "topk:R" })
                Assert.Contains(allowed, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CodecPolicy_GivesTierOverrides_AndNamesABadTier()
    {
        var policy = CodecPolicy.Parse("q8", new Dictionary<string, string> { ["sensor"] = "q4" });

        Assert.Equal("q4", policy.For("sensor").Name);
        Assert.Equal("q8", policy.For("flagship").Name);
        Assert.Equal("q8; sensor: q4", policy.ToString());
        var e = Assert.Throws<FormatException>(() => CodecPolicy.Parse("q8", new Dictionary<string, string> { ["sensor"] = "q3" }));
        Assert.Contains("tier 'sensor'", e.Message, StringComparison.Ordinal);
        Assert.Contains("q2", e.Message, StringComparison.Ordinal);
    }
}
