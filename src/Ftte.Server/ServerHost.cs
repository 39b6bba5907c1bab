using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Ftte.Server;

/// <summary>Where and how the server listens.</summary>
/// <param name="Bind">Address to bind; 127.0.0.1 unless told otherwise (0.0.0.0 for every interface).</param>
/// <param name="Port">TCP port; 0 picks a free one (see <see cref="ServerHost.Addresses"/>).</param>
/// <param name="CertificatePem">TLS certificate (PEM); with <paramref name="KeyPem"/>, the server speaks https.</param>
public sealed record EndpointOptions(string Bind = "127.0.0.1", int Port = 50051, string? CertificatePem = null, string? KeyPem = null);

/// <summary>Kestrel serving one <see cref="FederationServer"/> over HTTP/2 (h2c, or TLS with ALPN h2).</summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServerHost(WebApplication app, FederationServer server)
    {
        _app = app;
        Server = server;
    }

    public FederationServer Server { get; }

    /// <summary>The bound addresses, e.g. http://127.0.0.1:50051, known after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<string> Addresses =>
        [.. _app.Urls];

    public static ServerHost Create(FederationServer server, EndpointOptions listen, Action<string> log)
    {
        if (!IPAddress.TryParse(listen.Bind, out var address))
            throw new ArgumentException($"--bind '{listen.Bind}' is not an IP address (use 127.0.0.1, 0.0.0.0 or a local interface's address).");
        if ((listen.CertificatePem is null) != (listen.KeyPem is null))
            throw new ArgumentException("TLS needs both --cert and --key (PEM files; `ftte certs dev` makes a pair for local use).");
        X509Certificate2? certificate = null;
        if (listen.CertificatePem is { } certPath)
        {
            foreach (var path in new[] { certPath, listen.KeyPem! })
                if (!File.Exists(path)) throw new FileNotFoundException($"TLS file '{path}' does not exist.", path);
            certificate = X509Certificate2.CreateFromPemFile(certPath, listen.KeyPem);
        }
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Logging.ClearProviders();
        long maxBody = server.Config.Server.MaxMessageBytes + 5;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = maxBody;
            // Many devices long-poll at once over few connections.
            k.Limits.Http2.MaxStreamsPerConnection = 1000;
            k.Limits.MinRequestBodyDataRate = null;
            k.Listen(address, listen.Port, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                if (certificate is not null) o.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        GrpcEndpoint.Map(app, server, log);
        return new ServerHost(app, server);
    }

    public async Task StartAsync(CancellationToken ct = default)
    {
        await _app.StartAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The actual listening addresses (with the real port when 0 was asked).</summary>
    public IReadOnlyList<string> ListeningAddresses()
    {
        var feature = ((IApplicationBuilder)_app).ServerFeatures.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>();
        return feature is null ? [] : [.. feature.Addresses];
    }

    public async ValueTask DisposeAsync()
    {
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
            await _app.StopAsync(cts.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        Server.Dispose();
    }
}
