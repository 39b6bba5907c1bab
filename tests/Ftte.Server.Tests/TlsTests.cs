using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>DevCertificate's files, and the server speaking TLS with them to a client that trusts only that certificate.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ftte-cert-test-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void Dev_certificate_is_p256_self_signed_for_the_given_hosts_with_server_auth()
    {
        var (certPath, keyPath) = DevCertificate.Create(_directory, ["localhost", "fl.example.lan", "127.0.0.1", "::1", "[fe80::1]", "10.0.0.7"], TimeSpan.FromDays(30));
        Assert.Equal(Path.Combine(_directory, "cert.pem"), certPath);
        Assert.Equal(Path.Combine(_directory, "key.pem"), keyPath);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----", File.ReadAllText(certPath));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(keyPath));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));

        using var cert = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        Assert.True(cert.HasPrivateKey);
        Assert.Equal(cert.Subject, cert.Issuer);
        Assert.Equal("CN=localhost", cert.Subject);
        using (var key = cert.GetECDsaPublicKey())
        {
            Assert.NotNull(key);
            Assert.Equal(256, key!.KeySize);
        }
        Assert.InRange((cert.NotAfter.ToUniversalTime() - DateTime.UtcNow).TotalDays, 29.9, 30.1);
        Assert.True(cert.NotBefore.ToUniversalTime() <= DateTime.UtcNow);

        var eku = cert.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Contains(eku.EnhancedKeyUsages.Cast<Oid>(), o => o.Value == "1.3.6.1.5.5.7.3.1");
        var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost", "fl.example.lan"], san.EnumerateDnsNames().ToArray());
        Assert.Equal(new[] { IPAddress.Loopback, IPAddress.IPv6Loopback, IPAddress.Parse("fe80::1"), IPAddress.Parse("10.0.0.7") },
            san.EnumerateIPAddresses().ToArray());
        Assert.True(cert.MatchesHostname("localhost"));
        Assert.True(cert.MatchesHostname("127.0.0.1"));
        Assert.False(cert.MatchesHostname("other.example.lan"));
    }

    [Fact]
    public void Dev_certificate_defaults_to_this_machine_and_refuses_to_overwrite_unless_told()
    {
        var (certPath, keyPath) = DevCertificate.Create(_directory);
        using (var cert = X509Certificate2.CreateFromPemFile(certPath, keyPath))
        {
            var san = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
            Assert.Equal(["localhost"], san.EnumerateDnsNames().ToArray());
            Assert.Equal(new[] { IPAddress.Loopback, IPAddress.IPv6Loopback }, san.EnumerateIPAddresses().ToArray());
        }
        string before = File.ReadAllText(certPath);

        var e = Assert.Throws<IOException>(() => DevCertificate.Create(_directory, ["localhost"], TimeSpan.FromDays(1)));
        Assert.Contains("already exists", e.Message);
        Assert.Equal(before, File.ReadAllText(certPath));

        // Only the key left over (e.g. the certificate was deleted): still refused, nothing half-written.
        File.Delete(certPath);
        Assert.Throws<IOException>(() => DevCertificate.Create(_directory));
        Assert.False(File.Exists(certPath));

        DevCertificate.Create(_directory, ["localhost"], TimeSpan.FromDays(1), overwrite: true);
        Assert.NotEqual(before, File.ReadAllText(certPath));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
    }

    [Theory]
    [InlineData("not a host")]
    [InlineData("")]
    [InlineData("server.lan:50051")]
    [InlineData("https://server.lan")]
    public void Dev_certificate_refuses_a_host_that_is_neither_name_nor_address(string host)
    {
        var e = Assert.Throws<ArgumentException>(() => DevCertificate.Create(_directory, ["localhost", host], TimeSpan.FromDays(1)));
        Assert.Contains($"'{host}'", e.Message);
        Assert.Empty(Directory.EnumerateFiles(_directory));
    }

    [Fact]
    public void Dev_certificate_refuses_a_non_positive_validity()
    {
        var e = Assert.Throws<ArgumentException>(() => DevCertificate.Create(_directory, null, TimeSpan.Zero));
        Assert.Contains("positive", e.Message);
    }

    [Fact]
    public async Task Server_speaks_tls_with_a_dev_certificate_to_a_client_trusting_only_it()
    {
        var (certPath, keyPath) = DevCertificate.Create(_directory);
        using var trusted = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1),
            listen: new EndpointOptions(Port: 0, CertificatePem: certPath, KeyPem: keyPath),
            channel: new GrpcChannelOptions { TrustedCertificate = trusted });
        Assert.Equal("https", test.Address.Scheme);

        var a = await test.EnrolAsync("a");
        await test.SubmitValidAsync(a);
        Assert.Equal(1, (await test.StatusAsync()).UpdatesAccepted);

        // By name too (the certificate covers localhost).
        using (var byName = new GrpcChannel(new Uri($"https://localhost:{test.Port}"), new GrpcChannelOptions { TrustedCertificate = trusted }))
            Assert.Equal(1, (await byName.CallAsync(FederationMethods.GetStatus, new V1.StatusRequest(), V1.StatusReply.Parser, deadline: Limits.Call).Bounded("GetStatus")).UpdatesAccepted);

        // A client that does not trust it (machine store only), or trusts another certificate, cannot connect.
        using (var plain = new GrpcChannel(test.Address))
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => plain.CallAsync(FederationMethods.GetStatus, new V1.StatusRequest(), V1.StatusReply.Parser, deadline: Limits.Call).Bounded("GetStatus"));
            Assert.Equal(StatusCode.Unavailable, e.Status);
        }
        string otherDir = Path.Combine(_directory, "other");
        var (otherCert, _) = DevCertificate.Create(otherDir);
        using var stranger = X509Certificate2.CreateFromPem(File.ReadAllText(otherCert));
        using (var wrong = new GrpcChannel(test.Address, new GrpcChannelOptions { TrustedCertificate = stranger }))
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => wrong.CallAsync(FederationMethods.GetStatus, new V1.StatusRequest(), V1.StatusReply.Parser, deadline: Limits.Call).Bounded("GetStatus"));
            Assert.Equal(StatusCode.Unavailable, e.Status);
        }
    }
}
