using Ftte.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server;

/// <summary>
/// ftte.v1.Federation over gRPC's HTTP/2 mapping, on Kestrel: one POST route per method, the request body read
/// as one length-prefixed message (its declared length checked against the limit before it is buffered), the
/// reply written as one, and the outcome in the <c>grpc-status</c> / <c>grpc-message</c> trailers. Any stock
/// gRPC client can call it.
/// </summary>
public static class GrpcEndpoint
{
    public static void Map(WebApplication app, FederationServer server, Action<string> log)
    {
        int max = (int)server.Config.Server.MaxMessageBytes;
        var route = new RouteContext(server, max, log);
        Route(app, FederationMethods.Enrol, V1.EnrolRequest.Parser, route, (req, _) => Task.FromResult(server.Enrol(req)));
        Route(app, FederationMethods.GetStatus, V1.StatusRequest.Parser, route, (_, _) => Task.FromResult(server.Status()));
        Route(app, FederationMethods.GetTask, V1.GetTaskRequest.Parser, route, (req, c) =>
        {
            int device = server.Authenticate(c.Request.Headers.Authorization);
            // Answer before the caller's deadline expires, or the reply would be lost.
            double wait = req.WaitSeconds;
            if (Deadline(c) is { } deadline) wait = Math.Min(wait, Math.Max(0, deadline.TotalSeconds - 1));
            return server.GetTaskAsync(device, wait, c.RequestAborted);
        });
        Route(app, FederationMethods.GetModel, V1.GetModelRequest.Parser, route, (req, c) =>
            Task.FromResult(server.GetModel(server.Authenticate(c.Request.Headers.Authorization), req)));
        Route(app, FederationMethods.SubmitUpdate, V1.UpdateChunk.Parser, route, (req, c) =>
            Task.FromResult(server.Submit(server.Authenticate(c.Request.Headers.Authorization), req)));
        Route(app, FederationMethods.SecureAggregation, V1.SecAggRequest.Parser, route, (req, c) =>
            server.SecureAggregationAsync(server.Authenticate(c.Request.Headers.Authorization), req, c.RequestAborted));
        Route(app, FederationMethods.Heartbeat, V1.HeartbeatRequest.Parser, route, (req, c) =>
            Task.FromResult(server.Heartbeat(server.Authenticate(c.Request.Headers.Authorization), req)));
        // Any other path under the service, or any other service: UNIMPLEMENTED, as gRPC servers answer.
        app.MapFallback(new RequestDelegate(ctx =>
        {
            route.Refused("unknown-method");
            ctx.Response.ContentType = "application/grpc";
            return Trailers(ctx, StatusCode.Unimplemented, $"Method '{ctx.Request.Path}' is not implemented; the service is {FederationMethods.Service}.");
        }));
    }

    /// <summary>What every route shares: the server (to count refused calls), the message limit and the log.</summary>
    private sealed record RouteContext(FederationServer Server, int MaxBytes, Action<string> Log)
    {
        /// <summary>Counts a call refused before it reached the server's core (status refusals), like the core's own refusals.</summary>
        public void Refused(string reason)
        {
            try { Server.CountRefusal(reason); }
            catch (ObjectDisposedException) { } // shutting down: nothing left to count in
        }
    }

    private static void Route<TRequest, TReply>(WebApplication app, string path, MessageParser<TRequest> parser, RouteContext route,
        Func<TRequest, HttpContext, Task<TReply>> handle)
        where TRequest : IMessage<TRequest> where TReply : IMessage<TReply> =>
        app.MapPost(path, new RequestDelegate(ctx => Unary(ctx, parser, route, handle)));

    private static async Task Unary<TRequest, TReply>(HttpContext ctx, MessageParser<TRequest> parser, RouteContext route,
        Func<TRequest, HttpContext, Task<TReply>> handle)
        where TRequest : IMessage<TRequest> where TReply : IMessage<TReply>
    {
        int maxBytes = route.MaxBytes;
        var response = ctx.Response;
        if (ctx.Request.ContentType is not { } type || !type.StartsWith("application/grpc", StringComparison.Ordinal))
        {
            // Not a gRPC request: HTTP's own answer (gRPC spec: 415 for a wrong content-type).
            route.Refused("not-grpc");
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            response.Headers["grpc-status"] = ((int)StatusCode.Internal).ToString();
            response.Headers["grpc-message"] = GrpcMessageText.Encode("Content-Type must be application/grpc.");
            return;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        try
        {
            TRequest request;
            try
            {
                var bytes = await GrpcFraming.ReadSingleAsync(ctx.Request.Body, maxBytes, ctx.RequestAborted).ConfigureAwait(false);
                request = GrpcFraming.Parse(parser, bytes);
            }
            catch (RpcException e)
            {
                // Refused by the framing or the parser: counted by reason, so an operator sees misbehaving callers.
                route.Refused(e.Status switch
                {
                    StatusCode.ResourceExhausted => "too-large",
                    StatusCode.InvalidArgument => "malformed-message",
                    _ => "bad-frame",
                });
                throw;
            }
            var reply = await handle(request, ctx).ConfigureAwait(false);
            await response.Body.WriteAsync(GrpcFraming.Frame(reply), ctx.RequestAborted).ConfigureAwait(false);
            await Trailers(ctx, StatusCode.OK, null).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            await Trailers(ctx, e.Status, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            route.Refused("too-large");
            await Trailers(ctx, StatusCode.ResourceExhausted, $"Request body {(ctx.Request.ContentLength is { } n ? $"of {n:N0} bytes " : "")}exceeds the limit of {maxBytes:N0} bytes for one message; send large payloads in chunks.").ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; nothing to answer.
        }
        catch (Exception e) when (e is IOException or BadHttpRequestException)
        {
            await Trailers(ctx, StatusCode.Internal, $"Request body could not be read: {e.Message}").ConfigureAwait(false);
        }
        catch (Exception e)
        {
            route.Log($"Internal error in {ctx.Request.Path}: {e}");
            await Trailers(ctx, StatusCode.Internal, $"Internal server error ({e.GetType().Name}); the run goes on.").ConfigureAwait(false);
        }
    }

    private static Task Trailers(HttpContext ctx, StatusCode status, string? message)
    {
        var response = ctx.Response;
        response.AppendTrailer("grpc-status", ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(message)) response.AppendTrailer("grpc-message", GrpcMessageText.Encode(message));
        return Task.CompletedTask;
    }

    /// <summary>The caller's <c>grpc-timeout</c> (gRPC spec: up to 8 digits and a unit H, M, S, m, u, n).</summary>
    private static TimeSpan? Deadline(HttpContext ctx)
    {
        string? raw = ctx.Request.Headers["grpc-timeout"];
        if (string.IsNullOrEmpty(raw) || raw.Length < 2 || !long.TryParse(raw.AsSpan(0, raw.Length - 1), out long n) || n < 0) return null;
        return raw[^1] switch
        {
            'H' => TimeSpan.FromHours(n),
            'M' => TimeSpan.FromMinutes(n),
            'S' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMilliseconds(n),
            'u' => TimeSpan.FromMicroseconds(n),
            'n' => TimeSpan.FromTicks(n / 100),
            _ => null,
        };
    }
}
