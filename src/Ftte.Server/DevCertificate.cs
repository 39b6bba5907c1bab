using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ftte.Server;

/// <summary>
/// A self-signed certificate for running the server with TLS on a local network or a test machine
/// (<c>ftte certs dev</c>): ECDSA P-256, the given host names and IP addresses as subject alternative names,
/// extended key usage serverAuth. Devices trust it by being given <c>cert.pem</c> (e.g. <c>ftte join --ca cert.pem</c>,
/// or <c>grpc.credentials.createSsl(cert)</c> in a stock gRPC client). Not for production: anyone holding
/// <c>key.pem</c> can impersonate the server, and nothing revokes it.
/// </summary>
public static class DevCertificate
{
    /// <summary>The names a certificate covers when none are given: this machine, over IPv4 and IPv6.</summary>
    public static IReadOnlyList<string> DefaultHosts { get; } = ["localhost", "127.0.0.1", "::1"];

    /// <summary>How long a certificate is valid when no validity is given.</summary>
    public static TimeSpan DefaultValidity { get; } = TimeSpan.FromDays(365);

    public const string CertificateFileName = "cert.pem";
    public const string KeyFileName = "key.pem";

    /// <summary>
    /// Writes <c>cert.pem</c> (the certificate) and <c>key.pem</c> (its PKCS#8 private key; mode 0600 on Unix) into
    /// <paramref name="directory"/>, creating it. Host names become DNS names, hosts that are IP addresses
    /// (<c>127.0.0.1</c>, <c>::1</c>, <c>[::1]</c>) IP addresses; the first host is also the subject's common name.
    /// </summary>
    /// <param name="hosts">Names the server is reached by; null or empty: <see cref="DefaultHosts"/>.</param>
    /// <param name="validFor">Validity from now (backdated 5 minutes for clock skew); null: <see cref="DefaultValidity"/>.</param>
    /// <param name="overwrite">Replace existing files; otherwise an existing cert.pem or key.pem is an error and nothing is written.</param>
    /// <exception cref="ArgumentException">A host is neither a DNS name nor an IP address, or the validity is not positive.</exception>
    /// <exception cref="IOException">A file exists and <paramref name="overwrite"/> is false.</exception>
    public static (string CertPath, string KeyPath) Create(string directory, IReadOnlyList<string>? hosts = null, TimeSpan? validFor = null,
        bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var names = hosts is { Count: > 0 } ? hosts : DefaultHosts;
        var validity = validFor ?? DefaultValidity;
        if (validity <= TimeSpan.Zero)
            throw new ArgumentException($"A certificate must be valid for a positive time; got {validity}.", nameof(validFor));

        var san = new SubjectAlternativeNameBuilder();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string raw in names)
        {
            string host = (raw ?? "").Trim();
            if (!seen.Add(host)) continue;
            if (ParseAddress(host) is { } ip) san.AddIpAddress(ip);
            else if (IsDnsName(host)) san.AddDnsName(host);
            else
                throw new ArgumentException(
                    $"Host '{raw}' is neither a DNS name (e.g. localhost, server.lan) nor an IP address (e.g. 192.168.1.20, ::1).", nameof(hosts));
        }

        string dir = Path.GetFullPath(directory);
        string certPath = Path.Combine(dir, CertificateFileName), keyPath = Path.Combine(dir, KeyFileName);
        if (!overwrite)
            foreach (string path in new[] { certPath, keyPath })
                if (File.Exists(path))
                    throw new IOException($"'{path}' already exists; keep it, choose another directory, or ask to overwrite it (--force).");

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string commonName = names[0].Trim().Trim('[', ']');
        var request = new CertificateRequest(new X500DistinguishedName(CommonName(commonName)), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(san.Build(critical: false));

        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now + validity);

        Directory.CreateDirectory(dir);
        // The key first and never world-readable, not even for a moment: created with mode 0600.
        WriteNew(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n", secret: true, overwrite);
        WriteNew(certPath, certificate.ExportCertificatePem() + "\n", secret: false, overwrite);
        return (certPath, keyPath);
    }

    private static void WriteNew(string path, string text, bool secret, bool overwrite)
    {
        if (overwrite) File.Delete(path); // a fresh file gets the mode below; an existing one would keep its own
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        writer.Write(text);
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }

    /// <summary>An IP address written as one (dotted IPv4, or IPv6 with colons, optionally in brackets); not "1234", which .NET would also parse.</summary>
    private static IPAddress? ParseAddress(string host)
    {
        string h = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (!IPAddress.TryParse(h, out var ip)) return null;
        return ip.AddressFamily switch
        {
            AddressFamily.InterNetworkV6 when h.Contains(':') => ip,
            AddressFamily.InterNetwork when h.Count(c => c == '.') == 3 => ip,
            _ => null,
        };
    }

    private static bool IsDnsName(string host)
    {
        if (host.Length is 0 or > 253) return false;
        string rest = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        return Uri.CheckHostName(rest) == UriHostNameType.Dns;
    }

    private static string CommonName(string name) =>
        "CN=" + (name.Any(c => c is ',' or '+' or '"' or '\\' or '<' or '>' or ';' or '=') ? "FTTE dev server" : name);
}
