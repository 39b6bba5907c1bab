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
        Route(app, FederationMethods.Enrol, V1.EnrolRequest.Parser, max, log, (req, _) => Task.FromResult(server.Enrol(req)));
        Route(app, FederationMethods.GetStatus, V1.StatusRequest.Parser, max, log, (_, _) => Task.FromResult(server.Status()));
        Route(app, FederationMethods.GetTask, V1.GetTaskRequest.Parser, max, log, (req, c) =>
        {
            int device = server.Authenticate(c.Request.Headers.Authorization);
            // Answer before the caller's deadline expires, or the reply would be lost.
            double wait = req.WaitSeconds;
            if (Deadline(c) is { } deadline) wait = Math.Min(wait, Math.Max(0, deadline.TotalSeconds - 1));
            return server.GetTaskAsync(device, wait, c.RequestAborted);
        });
        Route(app, FederationMethods.GetModel, V1.GetModelRequest.Parser, max, log, (req, c) =>
            Task.FromResult(server.GetModel(server.Authenticate(c.Request.Headers.Authorization), req)));
        Route(app, FederationMethods.SubmitUpdate, V1.UpdateChunk.Parser, max, log, (req, c) =>
            Task.FromResult(server.Submit(server.Authenticate(c.Request.Headers.Authorization), req)));
        Route(app, FederationMethods.Heartbeat, V1.HeartbeatRequest.Parser, max, log, (req, c) =>
            Task.FromResult(server.Heartbeat(server.Authenticate(c.Request.Headers.Authorization), req)));
        // Any other path under the service, or any other service: UNIMPLEMENTED, as gRPC servers answer.
        app.MapFallback(new RequestDelegate(ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            return Trailers(ctx, StatusCode.Unimplemented, $"Method '{ctx.Request.Path}' is not implemented; the service is {FederationMethods.Service}.");
        }));
    }

    private static void Route<TRequest, TReply>(WebApplication app, string path, MessageParser<TRequest> parser, int maxBytes, Action<string> log,
        Func<TRequest, HttpContext, Task<TReply>> handle)
        where TRequest : IMessage<TRequest> where TReply : IMessage<TReply> =>
        app.MapPost(path, new RequestDelegate(ctx => Unary(ctx, parser, maxBytes, log, handle)));

    private static async Task Unary<TRequest, TReply>(HttpContext ctx, MessageParser<TRequest> parser, int maxBytes, Action<string> log,
        Func<TRequest, HttpContext, Task<TReply>> handle)
        where TRequest : IMessage<TRequest> where TReply : IMessage<TReply>
    {
        var response = ctx.Response;
        if (ctx.Request.ContentType is not { } type || !type.StartsWith("application/grpc", StringComparison.Ordinal))
        {
            // Not a gRPC request: HTTP's own answer (gRPC spec: 415 for a wrong content-type).
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            response.Headers["grpc-status"] = ((int)StatusCode.Internal).ToString();
            response.Headers["grpc-message"] = GrpcMessageText.Encode("Content-Type must be application/grpc.");
            return;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        try
        {
            var bytes = await GrpcFraming.ReadSingleAsync(ctx.Request.Body, maxBytes, ctx.RequestAborted).ConfigureAwait(false);
            var request = GrpcFraming.Parse(parser, bytes);
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
            await Trailers(ctx, StatusCode.ResourceExhausted, $"Request exceeds the limit of {maxBytes:N0} bytes.").ConfigureAwait(false);
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
            log($"Internal error in {ctx.Request.Path}: {e}");
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
