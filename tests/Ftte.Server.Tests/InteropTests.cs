using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>
/// A stock gRPC client in another language talks to the server: tests/interop/client.js with @grpc/grpc-js and
/// @grpc/proto-loader, reading the same federation.proto. Needs node and npm (CI installs npm, which brings node);
/// without them these tests fail, they never skip. The node modules are installed once (npm ci, pinned by the lockfile)
/// into a cache directory outside the repository.
/// </summary>
public sealed class InteropTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Stock_grpc_js_client_interoperates_over_plain_http2()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var run = await NodeInterop.RunAsync($"127.0.0.1:{test.Port}", TestServer.Secret);
        await CheckAsync(test, run, tls: false);
    }

    [Fact]
    public async Task Stock_grpc_js_client_interoperates_over_tls_with_a_dev_certificate()
    {
        string certs = Directory.CreateTempSubdirectory("ftte-interop-cert-").FullName;
        try
        {
            var (cert, key) = DevCertificate.Create(certs);
            using var trusted = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(cert));
            await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1),
                listen: new EndpointOptions(Port: 0, CertificatePem: cert, KeyPem: key),
                channel: new GrpcChannelOptions { TrustedCertificate = trusted });
            var run = await NodeInterop.RunAsync($"localhost:{test.Port}", TestServer.Secret, cert);
            await CheckAsync(test, run, tls: true);
        }
        finally
        {
            try { Directory.Delete(certs, recursive: true); }
            catch (IOException) { }
        }
    }

    private async Task CheckAsync(TestServer test, NodeInterop.Result run, bool tls)
    {
        output.WriteLine(run.Stdout);
        Assert.True(run.ExitCode == 0, $"client.js exited with {run.ExitCode}.\nstdout:\n{run.Stdout}\nstderr:\n{run.Stderr}");
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(tls, root.GetProperty("tls").GetBoolean());
        var steps = root.GetProperty("steps");

        var status = steps.GetProperty("status");
        Assert.Equal(test.Server.RunId, status.GetProperty("run_id").GetString());
        Assert.Equal(test.Server.Strategy.Name, status.GetProperty("strategy").GetString());

        var enrol = steps.GetProperty("enrol");
        Assert.Equal(0, enrol.GetProperty("device_id").GetInt32());
        Assert.Equal("mlp", enrol.GetProperty("model").GetProperty("spec").GetString());
        Assert.Equal("digits", enrol.GetProperty("model").GetProperty("dataset").GetString());

        // The node device was given a task at once (minDevices 1, FedBuff keeps M in flight), and it is alive.
        var task = steps.GetProperty("get_task");
        Assert.Equal("task", task.GetProperty("outcome").GetString());
        long taskId = long.Parse(task.GetProperty("task_id").GetString()!);
        Assert.True(taskId >= 1);
        Assert.False(steps.GetProperty("heartbeat").GetProperty("task_cancelled").GetBoolean());

        // The model chunk it got is the one our own client gets.
        var me = await test.EnrolAsync("dotnet-peer");
        var chunk = await test.Call(FederationMethods.GetModel, new V1.GetModelRequest { Version = -1 }, V1.ModelChunk.Parser, me.Token);
        var model = steps.GetProperty("get_model");
        Assert.Equal(chunk.TotalBytes.ToString(), model.GetProperty("total_bytes").GetString());
        Assert.Equal(chunk.Sha256, model.GetProperty("sha256").GetString());
        Assert.Equal(chunk.Data.Length, model.GetProperty("chunk_bytes").GetInt32());

        var bad = steps.GetProperty("bad_token");
        Assert.Equal((int)StatusCode.Unauthenticated, bad.GetProperty("code").GetInt32());
        Assert.Contains("token", bad.GetProperty("details").GetString());
        var unknown = steps.GetProperty("unknown_method");
        Assert.Equal((int)StatusCode.Unimplemented, unknown.GetProperty("code").GetInt32());
        Assert.Contains("NoSuchMethod", unknown.GetProperty("details").GetString());

        var after = await test.StatusAsync();
        Assert.Equal(2, after.DevicesEnrolled);
        Assert.Equal(1, after.Refusals["bad-token"]);
        Assert.Equal(1, after.Refusals["unknown-method"]);
        Assert.Equal(after.Refusals.Values.Sum(), after.UpdatesRefused);
    }
}

/// <summary>Finds node and npm, installs tests/interop's pinned modules once into a cache, and runs client.js.</summary>
internal static class NodeInterop
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    private static readonly TimeSpan InstallLimit = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan RunLimit = TimeSpan.FromSeconds(90);
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static string? _modules;

    public static async Task<Result> RunAsync(string address, string secret, string? rootCert = null)
    {
        string interop = Path.Combine(RepositoryRoot(), "tests", "interop");
        string node = FindOnPath("node") ?? throw new InvalidOperationException(
            "The gRPC interop test needs Node.js, and `node` is not on PATH. Install it (Debian: apt-get install npm, which " +
            "brings nodejs; CI's .ci/run does this), then run the tests again.");
        string modules = await ModulesAsync(interop);
        var args = new List<string> { Path.Combine(interop, "client.js"), address, secret };
        if (rootCert is not null) args.Add(rootCert);
        return await RunProcessAsync(node, args, interop, RunLimit, new() { ["NODE_PATH"] = modules });
    }

    /// <summary>
    /// node_modules for tests/interop's package-lock.json: under ~/.cache/ftte/interop-node/&lt;hash of the manifests&gt;
    /// (outside the repository; a changed lockfile gets a fresh directory). Installed with npm ci into a scratch
    /// directory first and moved into place, so an interrupted install never leaves a half-filled cache.
    /// </summary>
    private static async Task<string> ModulesAsync(string interop)
    {
        await InstallGate.WaitAsync();
        try
        {
            if (_modules is not null) return _modules;
            string[] manifests = ["package.json", "package-lock.json", ".npmrc"];
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (string file in manifests) hash.AppendData(File.ReadAllBytes(Path.Combine(interop, file)));
            string key = Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
            string cache = Path.Combine(CacheRoot(), "ftte", "interop-node");
            string target = Path.Combine(cache, key);
            string modules = Path.Combine(target, "node_modules");
            if (!File.Exists(Path.Combine(modules, "@grpc", "grpc-js", "package.json")))
            {
                string npm = FindOnPath("npm") ?? throw new InvalidOperationException(
                    $"The gRPC interop test installs @grpc/grpc-js with npm, and `npm` is not on PATH (node is). Install npm " +
                    $"(Debian: apt-get install npm), or run `npm ci` in {interop} once.");
                Directory.CreateDirectory(cache);
                string scratch = Path.Combine(cache, $"{key}.installing-{Guid.NewGuid():N}");
                Directory.CreateDirectory(scratch);
                try
                {
                    foreach (string file in manifests) File.Copy(Path.Combine(interop, file), Path.Combine(scratch, file));
                    // --ignore-scripts: nothing the two packages need runs at install time.
                    var install = await RunProcessAsync(npm, ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], scratch, InstallLimit, []);
                    if (install.ExitCode != 0)
                        throw new InvalidOperationException($"`npm ci` for the interop test failed (exit {install.ExitCode}) in {scratch}:\n{install.Stderr}\n{install.Stdout}");
                    if (Directory.Exists(target)) Directory.Delete(target, recursive: true); // a leftover without modules
                    try { Directory.Move(scratch, target); }
                    catch (IOException) when (File.Exists(Path.Combine(modules, "@grpc", "grpc-js", "package.json"))) { } // another run won the race
                }
                finally
                {
                    if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
                }
            }
            return _modules = modules;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static string CacheRoot()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        return !string.IsNullOrWhiteSpace(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ftte.sln")) && Directory.Exists(Path.Combine(dir.FullName, "tests", "interop")))
                return dir.FullName;
        throw new InvalidOperationException($"No repository root (Ftte.sln with tests/interop) above {AppContext.BaseDirectory}.");
    }

    private static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string candidate in OperatingSystem.IsWindows() ? new[] { name + ".exe", name + ".cmd" } : new[] { name })
            {
                string path = Path.Combine(dir, candidate);
                if (File.Exists(path)) return path;
            }
        }
        return null;
    }

    private static async Task<Result> RunProcessAsync(string file, IEnumerable<string> args, string directory, TimeSpan limit,
        Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{Path.GetFileName(file)} {string.Join(' ', start.ArgumentList)} did not finish within {limit.TotalSeconds:0} s.\n" +
                $"stdout:\n{await stdout}\nstderr:\n{await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
