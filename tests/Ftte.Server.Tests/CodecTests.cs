using System.Buffers.Binary;
using Ftte.Core;
using Ftte.Core.Config;
using Ftte.Engine;
using Ftte.Federation.Compression;
using Ftte.Protocol;
using Ftte.Server.Storage;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>
/// Compressed updates on the wire (UpdateChunk.codec): each codec's encoding of the trained coordinates is decoded by
/// the server into exactly the Δ the strategy keeps; bad encodings are refused with a message naming the problem,
/// counted by reason, and leave accepted updates untouched; every check on Δ still runs after decoding.
/// </summary>
public sealed class CodecTests
{
    private static async Task<(TestServer Test, Device A, V1.TaskAssignment Task, Device B)> TwoDevices(ServerConfig? config = null)
    {
        var test = await TestServer.StartAsync(config ?? TestServer.Config(minDevices: 2));
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");
        return (test, a, await test.TaskAsync(a), b);
    }

    /// <summary>A model-length Δ, uniform in ±<paramref name="scale"/> on the task's trained coordinates, 0 elsewhere.</summary>
    private static (float[] Delta, WeightRange[] Ranges) Update(Device device, V1.TaskAssignment task, ulong seed = 11, float scale = 0.01f)
    {
        var payloads = Payloads.For(device);
        var ranges = payloads.Set(task.Trainable).Ranges(payloads.Model);
        var delta = new float[payloads.Model.ParameterCount];
        var rng = new Rng(seed);
        foreach (var r in ranges)
            for (int j = r.Offset; j < r.End; j++) delta[j] = scale * (2 * rng.NextSingle() - 1);
        return (delta, ranges);
    }

    private static byte[] Encode(string codec, Device device, V1.TaskAssignment task, float scale = 0.01f)
    {
        var (delta, ranges) = Update(device, task, scale: scale);
        return UpdateCompression.Encode(UpdateCodec.Parse(codec), delta, ranges, UpdateCompression.EncodingRng(task.Seed));
    }

    private static IReadOnlyList<PendingUpdate> Pending(TestServer test)
    {
        using var store = ServerStore.Open(test.StatePath);
        return store.LoadPending();
    }

    [Theory]
    [InlineData("float16")]
    [InlineData("q8")]
    [InlineData("q4")]
    [InlineData("q2")]
    [InlineData("q8:128")]
    [InlineData("topk:0.05")]
    public async Task Each_codec_is_decoded_into_the_delta_the_strategy_keeps(string name)
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var a = await test.EnrolAsync("a");
        var task = await test.TaskAsync(a);
        var codec = UpdateCodec.Parse(name);
        var (delta, ranges) = Update(a, task);
        var payload = UpdateCompression.Encode(codec, delta, ranges, UpdateCompression.EncodingRng(task.Seed));
        long float32Bytes = Payloads.For(a).Delta(task.Trainable, 0).Length;

        var reply = await test.UploadAsync(a, task.TaskId, payload, codec: name);

        Assert.True(reply.Verdict == V1.Verdict.Accepted, $"{name}: {reply.Verdict} {reply.Detail}");
        Assert.Equal(payload.Length, reply.AcknowledgedBytes);
        Assert.True(payload.Length < float32Bytes, $"{name}: {payload.Length} bytes, float32 {float32Bytes}");
        // The bytes counted are the bytes received, not the float32 size.
        Assert.Equal(payload.Length, (await test.StatusAsync()).BytesUp);
        await test.StopAsync();
        var expected = new float[delta.Length];
        UpdateCompression.Decode(codec, payload, ranges, expected);
        var kept = Assert.Single(Pending(test));
        Assert.Equal(expected, kept.Delta);
        // Lossy, but close: each value within one quantisation step (or, for top-k, the dropped ones exactly 0).
        double worst = delta.Zip(kept.Delta, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(worst <= (name.StartsWith("topk", StringComparison.Ordinal) ? 0.01 : name == "q2" ? 0.0101 : 0.01 / 7 + 1e-6), $"{name}: max error {worst}");
    }

    [Fact]
    public async Task Float32_names_the_parameter_format_that_old_clients_send()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);
        var reply = await test.UploadAsync(a, task.TaskId, payload, codec: "float32");
        Assert.Equal(V1.Verdict.Accepted, reply.Verdict);
        await test.SubmitValidAsync(b); // no codec at all: what a client built before codecs sends
        Assert.Equal(2, (await test.StatusAsync()).UpdatesAccepted);
    }

    [Fact]
    public async Task The_server_asks_for_its_codec_and_a_tier_override()
    {
        var config = TestServer.Config(minDevices: 1);
        config = config with { Server = config.Server with { Codec = "q4", CodecTiers = new Dictionary<string, string> { ["test"] = "q2" } } };
        await using var test = await TestServer.StartAsync(config);
        var a = await test.EnrolAsync("a"); // TestServer.Capabilities declares tier "test"
        Assert.Equal("q2", (await test.TaskAsync(a)).Codec);

        var plain = TestServer.Config(minDevices: 1);
        await using var other = await TestServer.StartAsync(plain with { Server = plain.Server with { Codec = "q4" } });
        Assert.Equal("q4", (await other.TaskAsync(await other.EnrolAsync("a"))).Codec);
    }

    [Theory]
    [InlineData("codec", "q3")]
    [InlineData("codecTiers", "topk:2")]
    public void A_bad_codec_in_the_config_names_its_key(string key, string codec)
    {
        string json = key == "codec" ? $$"""{ "server": { "codec": "{{codec}}" } }""" : $$"""{ "server": { "codecTiers": { "sensor": "{{codec}}" } } }""";
        var e = Assert.Throws<ConfigException>(() => StrictJson.Parse<ServerConfig>(json, "server.json"));
        Assert.Contains("server." + key, e.Message, StringComparison.Ordinal);
        Assert.Contains(codec, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_codec_is_refused_before_anything_is_stored()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Encode("q8", a, task);
        await TestServer.Refused(StatusCode.InvalidArgument, () => test.UploadAsync(a, task.TaskId, payload, codec: "q3"), "unknown codec 'q3'", "q8");
        await test.AssertRunGoesOn(b, "bad-codec");
        // Nothing was held: the same upload under its real name is accepted.
        Assert.Equal(V1.Verdict.Accepted, (await test.UploadAsync(a, task.TaskId, payload, codec: "q8")).Verdict);
    }

    [Fact]
    public async Task Wrong_length_for_the_codec_is_refused_as_the_wrong_shape()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Encode("q8", a, task);
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, payload[..^1], codec: "q8"), $"must be {payload.Length:N0} bytes", "codec q8");
        await test.AssertRunGoesOn(b, "wrong-shape");
    }

    /// <summary>Damage to an encoding of the right length: found by the decoder, refused as malformed, named.</summary>
    [Theory]
    [InlineData("q8", "nan-scale", "scale of block 0")]
    [InlineData("q8", "count", "values (offset 4)")]
    [InlineData("q4", "codec-id", "encoded with q2")]
    [InlineData("q2", "codes", "outside the 2-bit alphabet")]
    [InlineData("topk:0.05", "index-order", "ascending")]
    [InlineData("float16", "magic", "magic")]
    public async Task Malformed_encoding_is_refused_and_never_reaches_the_model(string codec, string damage, string named)
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Encode(codec, a, task);
        int count = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(4));
        switch (damage)
        {
            case "nan-scale": BinaryPrimitives.WriteSingleLittleEndian(payload.AsSpan(UpdateCodec.HeaderSize), float.NaN); break;
            case "count": BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4), count - 1); break;
            case "codec-id": payload[3] = (byte)CodecKind.Q2; break;
            case "codes": payload.AsSpan(UpdateCodec.HeaderSize + 4 * ((count + 255) / 256)).Fill(0xFF); break;
            case "index-order":
                (payload[UpdateCodec.HeaderSize], payload[UpdateCodec.HeaderSize + 2]) = (payload[UpdateCodec.HeaderSize + 2], payload[UpdateCodec.HeaderSize]);
                (payload[UpdateCodec.HeaderSize + 1], payload[UpdateCodec.HeaderSize + 3]) = (payload[UpdateCodec.HeaderSize + 3], payload[UpdateCodec.HeaderSize + 1]);
                break;
            case "magic": payload[0] = (byte)'X'; break;
        }

        await TestServer.Refused(StatusCode.InvalidArgument, () => test.UploadAsync(a, task.TaskId, payload, codec: codec),
            $"task {task.TaskId} refused", $"malformed {UpdateCodec.Parse(codec).Name} payload", named);
        var next = await test.TaskAsync(a); // the task ended; A gets a new one
        Assert.NotEqual(task.TaskId, next.TaskId);
        await test.AssertRunGoesOn(b, "malformed");
        // What was accepted is exactly B's update: 1e-3 on its trained coordinates, nothing of A's.
        await test.StopAsync();
        var kept = Assert.Single(Pending(test));
        Assert.NotEqual(a.Id, kept.DeviceId);
        Assert.All(kept.Delta, x => Assert.True(x is 0 or 1e-3f, $"value {x}"));
    }

    [Fact]
    public async Task Checks_on_delta_run_after_decoding()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        // Top-k carries raw float32 values: an infinite one decodes fine and is then refused as non-finite.
        var topk = Encode("topk:0.05", a, task);
        int k = BinaryPrimitives.ReadInt32LittleEndian(topk.AsSpan(8));
        BinaryPrimitives.WriteSingleLittleEndian(topk.AsSpan(topk.Length - 4 * k), float.PositiveInfinity);
        await TestServer.Refused(StatusCode.InvalidArgument, () => test.UploadAsync(a, task.TaskId, topk, codec: "topk:0.05"), "non-finite value");

        // A valid q8 encoding of a huge update: its norm is refused.
        var next = await test.TaskAsync(a);
        var huge = Encode("q8", a, next, scale: 1e4f);
        await TestServer.Refused(StatusCode.InvalidArgument, () => test.UploadAsync(a, next.TaskId, huge, codec: "q8"), "update norm", "exceeds the limit");

        await test.AssertRunGoesOn(b, "norm");
        var status = await test.StatusAsync();
        Assert.Equal(1, status.Refusals["non-finite"]);
    }

    [Fact]
    public async Task A_codec_change_mid_upload_is_refused_and_a_restart_from_zero_starts_over()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var q8 = Encode("q8", a, task);
        var float32 = Payloads.For(a).Delta(task.Trainable, 1e-3f);
        int half = Math.Min(q8.Length / 2, 4096); // within the test server's 8 KiB chunks
        var first = await test.SubmitAsync(a, TestServer.Chunk(task.TaskId, q8, 0, half, codec: "q8"));
        Assert.Equal(half, first.AcknowledgedBytes);

        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.SubmitAsync(a, TestServer.Chunk(task.TaskId, float32, half, 16)), "held so far are q8", "float32", "offset 0");
        // A device restarted with another codec sends from offset 0: the q8 bytes are dropped and float32 is taken whole.
        Assert.Equal(V1.Verdict.Accepted, (await test.UploadAsync(a, task.TaskId, float32)).Verdict);
        await test.AssertRunGoesOn(b, "bad-codec");
    }
}
