using System.Text;

namespace Ftte.Protocol;

/// <summary>gRPC status codes (grpc/doc/statuscodes.md); the numbers are the wire values of <c>grpc-status</c>.</summary>
public enum StatusCode
{
    OK = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

/// <summary>A call ended with a non-OK status; <see cref="Exception.Message"/> is the <c>grpc-message</c>.</summary>
public sealed class RpcException(StatusCode status, string message) : Exception(message)
{
    public StatusCode Status { get; } = status;

    public override string ToString() => $"{Status} ({(int)Status}): {Message}";
}

/// <summary>
/// <c>grpc-message</c> is percent-encoded (gRPC over HTTP/2 spec, "Responses"): bytes of the UTF-8 text
/// outside 0x20–0x7E, and '%' itself, become %XX, so any text survives an HTTP/2 header.
/// </summary>
public static class GrpcMessageText
{
    public static string Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%') sb.Append((char)b);
            else sb.Append('%').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }

    /// <summary>Decodes %XX escapes; a malformed escape is kept as is (the spec asks receivers to be lenient).</summary>
    public static string Decode(string text)
    {
        if (!text.Contains('%')) return text;
        var bytes = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '%' && i + 2 < text.Length && Uri.IsHexDigit(text[i + 1]) && Uri.IsHexDigit(text[i + 2]))
            {
                bytes.Add(Convert.ToByte(text.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                foreach (byte b in Encoding.UTF8.GetBytes(text[i].ToString())) bytes.Add(b);
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }
}
