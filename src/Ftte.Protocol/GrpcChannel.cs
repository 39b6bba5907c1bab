using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;

namespace Ftte.Protocol;

/// <summary>Connection settings of a <see cref="GrpcChannel"/>.</summary>
public sealed record GrpcChannelOptions
{
    /// <summary>Largest response message accepted.</summary>
    public int MaxReceiveBytes { get; init; } = GrpcFraming.DefaultMaxMessageBytes;
    /// <summary>
    /// For https: a certificate (e.g. from <c>ftte certs dev</c>) that the server's chain must end in, instead
    /// of the machine's trust store. Its host name must still match.
    /// </summary>
    public X509Certificate2? TrustedCertificate { get; init; }
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Open more HTTP/2 connections when one has as many streams as the server allows (many concurrent calls).</summary>
    public bool MultipleConnections { get; init; } = true;
}

/// <summary>
/// A minimal gRPC client over HttpClient: unary calls, gRPC framing, <c>grpc-status</c> / <c>grpc-message</c>
/// from trailers (or headers, for a trailers-only response), deadlines as <c>grpc-timeout</c>. Plain
/// <c>http://</c> addresses speak HTTP/2 with prior knowledge (h2c), as gRPC does; <c>https://</c> uses TLS
/// with ALPN h2.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly HttpClient _http;
    private readonly GrpcChannelOptions _options;

    public GrpcChannel(Uri address, GrpcChannelOptions? options = null)
    {
        if (address.Scheme is not ("http" or "https"))
            throw new ArgumentException($"Server address '{address}' must start with http:// or https://.", nameof(address));
        Address = address;
        _options = options ?? new GrpcChannelOptions();
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _options.ConnectTimeout,
            EnableMultipleHttp2Connections = _options.MultipleConnections,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
        };
        if (_options.TrustedCertificate is { } trusted)
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, cert, _, errors) => Trusts(trusted, cert, errors) };
        _http = new HttpClient(handler) { BaseAddress = address, Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri Address { get; }

    /// <summary>Makes one unary call. Non-OK statuses, transport failures and bad responses throw <see cref="RpcException"/>.</summary>
    public async Task<TResponse> CallAsync<TRequest, TResponse>(string method, TRequest request, MessageParser<TResponse> parser,
        string? bearerToken = null, TimeSpan? deadline = null, CancellationToken ct = default)
        where TRequest : IMessage<TRequest> where TResponse : IMessage<TResponse>
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, method)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(GrpcFraming.Frame(request)),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TryAddWithoutValidation("te", "trailers");
        if (bearerToken is not null) message.Headers.TryAddWithoutValidation("authorization", "Bearer " + bearerToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (deadline is { } d)
        {
            // grpc-timeout: at most 8 digits and a unit; milliseconds cover every deadline we use.
            message.Headers.TryAddWithoutValidation("grpc-timeout", $"{Math.Clamp((long)Math.Ceiling(d.TotalMilliseconds), 1, 99_999_999)}m");
            cts.CancelAfter(d + TimeSpan.FromSeconds(2));
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new RpcException(StatusCode.DeadlineExceeded, $"{method}: no response within {deadline?.TotalSeconds:F0} s.");
        }
        catch (HttpRequestException e)
        {
            // The inner exception says why (refused, TLS: untrusted certificate or name mismatch, ...).
            string why = e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message;
            throw new RpcException(StatusCode.Unavailable, $"{method}: cannot reach {Address}: {why}" +
                (Address.Scheme == "https" && e.InnerException is System.Security.Authentication.AuthenticationException ? " (for a self-signed server certificate, pass it with --ca)" : ""));
        }
        using (response)
        {
            if (response.StatusCode != HttpStatusCode.OK)
                throw new RpcException(FromHttp(response.StatusCode), $"{method}: HTTP {(int)response.StatusCode} from {Address} (not a gRPC response).");
            // Trailers-only response: the status is in the headers and there is no body.
            if (StatusOf(response.Headers) is { } early && early.Code != StatusCode.OK)
                throw new RpcException(early.Code, early.Message);
            var contentType = response.Content.Headers.ContentType?.MediaType;
            if (contentType is null || !contentType.StartsWith("application/grpc", StringComparison.Ordinal))
                throw new RpcException(StatusCode.Unknown, $"{method}: response content-type '{contentType}' is not application/grpc.");

            byte[] body;
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cts.Token).ConfigureAwait(false);
                body = await ReadBodyAsync(stream, _options.MaxReceiveBytes + GrpcFraming.HeaderBytes, cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new RpcException(StatusCode.DeadlineExceeded, $"{method}: response not complete within {deadline?.TotalSeconds:F0} s.");
            }
            catch (HttpRequestException e)
            {
                throw new RpcException(StatusCode.Unavailable, $"{method}: connection to {Address} failed mid-response: {e.Message}");
            }
            catch (IOException e)
            {
                throw new RpcException(StatusCode.Unavailable, $"{method}: connection to {Address} failed mid-response: {e.Message}");
            }
            var status = StatusOf(response.TrailingHeaders)
                ?? throw new RpcException(StatusCode.Internal, $"{method}: the response ended without a grpc-status trailer.");
            if (status.Code != StatusCode.OK) throw new RpcException(status.Code, status.Message);
            using var ms = new MemoryStream(body, writable: false);
            var payload = await GrpcFraming.ReadSingleAsync(ms, _options.MaxReceiveBytes, ct).ConfigureAwait(false);
            return GrpcFraming.Parse(parser, payload);
        }
    }

    private static async Task<byte[]> ReadBodyAsync(Stream stream, int limit, CancellationToken ct)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int n;
        while ((n = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + n > limit)
                throw new RpcException(StatusCode.ResourceExhausted, $"Response exceeds the receive limit of {limit - GrpcFraming.HeaderBytes:N0} bytes.");
            ms.Write(buffer, 0, n);
        }
        return ms.ToArray();
    }

    private static (StatusCode Code, string Message)? StatusOf(HttpHeaders headers)
    {
        if (!headers.TryGetValues("grpc-status", out var values)) return null;
        string raw = values.First();
        if (!int.TryParse(raw, out int code)) return (StatusCode.Unknown, $"Unparseable grpc-status '{raw}'.");
        string message = headers.TryGetValues("grpc-message", out var m) ? GrpcMessageText.Decode(m.First()) : "";
        return ((StatusCode)code, message);
    }

    /// <summary>HTTP status → gRPC status when a proxy or non-gRPC server answered (gRPC's http-grpc-status-mapping.md).</summary>
    private static StatusCode FromHttp(HttpStatusCode code) => (int)code switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    private static bool Trusts(X509Certificate2 trusted, X509Certificate? presented, SslPolicyErrors errors)
    {
        if (presented is null) return false;
        // Name mismatches are never forgiven; only the chain may end in the given certificate.
        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var cert = new X509Certificate2(presented);
        return chain.Build(cert);
    }

    public void Dispose() => _http.Dispose();
}
