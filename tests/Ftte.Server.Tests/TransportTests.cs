using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>
/// The gRPC mapping itself, spoken byte by byte with a bare HttpClient (HTTP/2 prior knowledge): over-size frames,
/// malformed protobuf, unknown methods and non-gRPC requests. After each the server goes on serving.
/// </summary>
public sealed class TransportTests
{
    private sealed record Outcome(HttpStatusCode Http, StatusCode? Status, string Message, byte[] Body);

    private static HttpClient RawClient() => new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) }) { Timeout = Limits.Call };

    private static HttpRequestMessage Post(Uri address, string path, HttpContent content, string contentType = "application/grpc")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        return request;
    }

    private static async Task<Outcome> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).Bounded("HTTP request");
        var body = await response.Content.ReadAsByteArrayAsync().Bounded("HTTP response body");
        // grpc-status in the trailers, or in the headers of a trailers-only (or non-200) response.
        HttpHeaders source = response.TrailingHeaders.Contains("grpc-status") ? response.TrailingHeaders : response.Headers;
        StatusCode? status = source.TryGetValues("grpc-status", out var s) ? (StatusCode)int.Parse(s.First()) : null;
        string message = source.TryGetValues("grpc-message", out var m) ? GrpcMessageText.Decode(m.First()) : "";
        return new Outcome(response.StatusCode, status, message, body);
    }

    private static byte[] Frame(uint declaredLength, ReadOnlySpan<byte> data, byte flag = 0)
    {
        var frame = new byte[GrpcFraming.HeaderBytes + data.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), declaredLength);
        data.CopyTo(frame.AsSpan(GrpcFraming.HeaderBytes));
        return frame;
    }

    /// <summary>A request body that sends its first bytes and then stays open until released.</summary>
    private sealed class StallingContent(byte[] head, Task release) : HttpContent
    {
        public TaskCompletionSource HeadSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(head);
            await stream.FlushAsync();
            HeadSent.TrySetResult();
            await release;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    [Fact]
    public async Task Over_size_message_is_refused_from_its_header_before_the_body_arrives()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var a = await test.EnrolAsync("a");
        long max = test.Server.Config.Server.MaxMessageBytes;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            using var client = RawClient();
            // Declares a 1 GiB message, sends 5 header bytes and 16 payload bytes, and never sends the rest: the answer
            // must come from the declared length alone (nothing buffered, no waiting for a body that is not coming).
            var content = new StallingContent(Frame(1u << 30, new byte[16]), release.Task);
            var outcome = await SendAsync(client, Post(test.Address, FederationMethods.Enrol, content));
            Assert.False(release.Task.IsCompleted);
            Assert.Equal(HttpStatusCode.OK, outcome.Http);
            Assert.Equal(StatusCode.ResourceExhausted, outcome.Status);
            Assert.Contains("1,073,741,824 bytes exceeds the limit", outcome.Message);
            Assert.Contains($"{max:N0}", outcome.Message);
        }
        finally
        {
            release.TrySetResult();
        }
        // Just over the limit, sent whole through the ordinary client: refused the same way.
        var big = new V1.EnrolRequest { Secret = TestServer.Secret, DeviceName = new string('x', (int)max), Capabilities = TestServer.Capabilities() };
        await TestServer.Refused(StatusCode.ResourceExhausted,
            () => test.Call(FederationMethods.Enrol, big, V1.EnrolReply.Parser), "exceeds the limit", "chunks");

        await test.AssertRunGoesOn(a, "too-large", expectedCount: 2);
    }

    [Fact]
    public async Task Malformed_protobuf_is_invalid_argument()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var a = await test.EnrolAsync("a");
        using var client = RawClient();
        // Field 1 as a length-delimited string claiming 100 bytes with 2 present.
        byte[] garbage = [0x0A, 0x64, 0x41, 0x42];
        var outcome = await SendAsync(client, Post(test.Address, FederationMethods.Enrol, new ByteArrayContent(Frame((uint)garbage.Length, garbage))));
        Assert.Equal(StatusCode.InvalidArgument, outcome.Status);
        Assert.Contains("Malformed EnrolRequest", outcome.Message);

        await test.AssertRunGoesOn(a, "malformed-message");
    }

    [Fact]
    public async Task Truncated_and_compressed_frames_are_refused()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var a = await test.EnrolAsync("a");
        using var client = RawClient();

        var truncated = await SendAsync(client, Post(test.Address, FederationMethods.GetStatus, new ByteArrayContent(Frame(10, [1, 2, 3]))));
        Assert.Equal(StatusCode.Internal, truncated.Status);
        Assert.Contains("Truncated gRPC message: 3 of 10 bytes", truncated.Message);

        var compressed = await SendAsync(client, Post(test.Address, FederationMethods.GetStatus, new ByteArrayContent(Frame(0, [], flag: 1))));
        Assert.Equal(StatusCode.Unimplemented, compressed.Status);
        Assert.Contains("Compressed gRPC messages are not supported", compressed.Message);

        var empty = await SendAsync(client, Post(test.Address, FederationMethods.GetStatus, new ByteArrayContent([])));
        Assert.Equal(StatusCode.Internal, empty.Status);
        Assert.Contains("no gRPC message", empty.Message);

        await test.AssertRunGoesOn(a, "bad-frame", expectedCount: 3);
    }

    [Fact]
    public async Task Unknown_method_is_unimplemented()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var a = await test.EnrolAsync("a");

        await TestServer.Refused(StatusCode.Unimplemented,
            () => test.Call("/ftte.v1.Federation/Train", new V1.StatusRequest(), V1.StatusReply.Parser),
            "/ftte.v1.Federation/Train", "not implemented", "ftte.v1.Federation");
        await TestServer.Refused(StatusCode.Unimplemented,
            () => test.Call("/grpc.health.v1.Health/Check", new V1.StatusRequest(), V1.StatusReply.Parser), "not implemented");

        await test.AssertRunGoesOn(a, "unknown-method", expectedCount: 2);
    }

    [Fact]
    public async Task Non_grpc_content_type_is_http_415()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var a = await test.EnrolAsync("a");
        using var client = RawClient();

        var outcome = await SendAsync(client, Post(test.Address, FederationMethods.GetStatus, new StringContent("{}"), "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, outcome.Http);
        Assert.Contains("application/grpc", outcome.Message);
        // Our own client maps it to a gRPC status naming the HTTP one.
        var status = await test.StatusAsync();
        Assert.Equal(1, status.DevicesEnrolled);
        await test.AssertRunGoesOn(a, "not-grpc");
    }
}
