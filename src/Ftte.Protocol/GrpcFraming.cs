using System.Buffers.Binary;
using Google.Protobuf;

namespace Ftte.Protocol;

/// <summary>
/// gRPC's length-prefixed messages (gRPC over HTTP/2 spec, "Length-Prefixed-Message"): a 1-byte compressed
/// flag, a 4-byte big-endian length, then the protobuf bytes. We never compress (no grpc-encoding is
/// advertised), so a set compressed flag is a protocol error.
/// </summary>
public static class GrpcFraming
{
    public const int HeaderBytes = 5;
    /// <summary>gRPC's customary default for a receive limit.</summary>
    public const int DefaultMaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>The framed bytes of one message.</summary>
    public static byte[] Frame(IMessage message)
    {
        int size = message.CalculateSize();
        var buffer = new byte[HeaderBytes + size];
        buffer[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1), (uint)size);
        message.WriteTo(buffer.AsSpan(HeaderBytes));
        return buffer;
    }

    /// <summary>
    /// Reads exactly one framed message from a request or response body and checks nothing follows it (unary
    /// calls carry one message). The declared length is checked against <paramref name="maxBytes"/> before
    /// anything is buffered, so an over-size message costs the receiver 5 bytes.
    /// </summary>
    /// <exception cref="RpcException">Empty, truncated, compressed, over-size, or followed by extra bytes.</exception>
    public static async Task<byte[]> ReadSingleAsync(Stream body, int maxBytes, CancellationToken ct)
    {
        var header = new byte[HeaderBytes];
        int got = await ReadAtMostAsync(body, header, ct).ConfigureAwait(false);
        if (got == 0) throw new RpcException(StatusCode.Internal, "The body holds no gRPC message (expected one length-prefixed message).");
        if (got < HeaderBytes) throw new RpcException(StatusCode.Internal, $"Truncated gRPC message header: {got} of {HeaderBytes} bytes.");
        if (header[0] > 1) throw new RpcException(StatusCode.Internal, $"Bad gRPC compressed flag {header[0]} (expected 0 or 1).");
        if (header[0] == 1) throw new RpcException(StatusCode.Unimplemented, "Compressed gRPC messages are not supported: send uncompressed (no grpc-encoding).");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
        if (length > (uint)maxBytes)
            throw new RpcException(StatusCode.ResourceExhausted, $"Message of {length:N0} bytes exceeds the limit of {maxBytes:N0} bytes; send large payloads in chunks.");
        var payload = new byte[length];
        got = await ReadAtMostAsync(body, payload, ct).ConfigureAwait(false);
        if (got < length) throw new RpcException(StatusCode.Internal, $"Truncated gRPC message: {got:N0} of {length:N0} bytes arrived.");
        var probe = new byte[1];
        if (await body.ReadAsync(probe, ct).ConfigureAwait(false) != 0)
            throw new RpcException(StatusCode.Internal, "More than one message in a unary call.");
        return payload;
    }

    /// <summary>Parses protobuf bytes; a malformed message becomes an <see cref="RpcException"/> naming the type.</summary>
    public static T Parse<T>(MessageParser<T> parser, byte[] bytes) where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new RpcException(StatusCode.InvalidArgument, $"Malformed {typeof(T).Name}: {e.Message}");
        }
    }

    private static async Task<int> ReadAtMostAsync(Stream stream, Memory<byte> buffer, CancellationToken ct)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer[total..], ct).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
