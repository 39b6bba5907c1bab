using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Ftte.Client;
using Ftte.Core;
using Ftte.Core.Config;
using Ftte.Data;
using Ftte.Federation.Compression;
using Ftte.Protocol;
using Ftte.Server;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Cli.Commands;

/// <summary>`ftte serve`, `ftte join`, `ftte status`, `ftte certs dev`: a real federation over the network.</summary>
internal static class DeploymentCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return Serve();
        yield return Join();
        yield return Status();
        yield return Certs();
    }

    private static Command Serve()
    {
        var config = new Option<string?>("--config") { Description = "Server config JSON (see --describe); default: an MNIST federation with FTTE." };
        var set = new Option<string[]>("--set") { Description = "Override a key: --set strategy.bufferSize=8 --set server.minDevices=10." };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => 50051 };
        var bind = new Option<string>("--bind") { Description = "Address to listen on; 0.0.0.0 for every interface.", DefaultValueFactory = _ => "127.0.0.1" };
        var state = new Option<string>("--state") { Description = "SQLite state file: the run, devices, model versions, pending updates, metrics. An existing file resumes its run.", DefaultValueFactory = _ => "ftte-server.db" };
        var secret = new Option<string?>("--secret") { Description = "Enrolment secret devices join with (default: $FTTE_SECRET, else a random one printed at start)." };
        var cert = new Option<string?>("--cert") { Description = "TLS certificate (PEM); with --key the server speaks https." };
        var key = new Option<string?>("--key") { Description = "TLS private key (PEM)." };
        var describe = new Option<bool>("--describe") { Description = "List every config key with its type, default and allowed values, then exit." };
        var print = new Option<bool>("--print-config") { Description = "Print the resolved config as JSON, then exit." };
        var metrics = new Option<string?>("--metrics") { Description = "When the server stops, write the run's evaluated versions as CSV to FILE (to compare with a simulated run)." };
        var command = new Command("serve", "Run a federation server: the configured strategy over gRPC for real devices (ftte join).")
        {
            config, set, port, bind, state, secret, cert, key, describe, print, metrics,
        };
        command.SetAction((r, ct) => Cli.RunAsync(async () =>
        {
            if (r.GetValue(describe))
            {
                SimulationCommands.DescribeKeys<ServerConfig>();
                return;
            }
            string? file = r.GetValue(config);
            var overrides = r.GetValue(set) ?? [];
            ServerConfig? cfg = null;
            if (file is not null || overrides.Length > 0)
            {
                if (file is not null && !File.Exists(file)) throw new FileNotFoundException($"Config file '{file}' does not exist.", file);
                cfg = StrictJson.Parse<ServerConfig>(file is null ? StrictJson.Serialize(new ServerConfig()) : File.ReadAllText(file), file ?? "defaults", overrides);
            }
            if (r.GetValue(print))
            {
                Console.WriteLine(StrictJson.Serialize(cfg ?? new ServerConfig()));
                return;
            }
            if (r.GetValue(metrics) is { } metricsPath)
            {
                // Checked before the run, not after it: a bad path must not cost the run's curve.
                if (Directory.Exists(metricsPath)) throw new IOException($"--metrics '{metricsPath}' is a directory; give a file name, e.g. {Path.Combine(metricsPath, "metrics.csv")}.");
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(metricsPath))!);
            }
            string statePath = r.GetValue(state)!;
            string? secretText = r.GetValue(secret) ?? Environment.GetEnvironmentVariable("FTTE_SECRET");
            bool fresh = !File.Exists(statePath) || new FileInfo(statePath).Length == 0;
            if (secretText is null && fresh) secretText = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

            void Log(string line) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");
            var server = FederationServer.Open(statePath, cfg, secretText, new DataOptions(), Log);
            await using var host = ServerHost.Create(server, new EndpointOptions(r.GetValue(bind)!, r.GetValue(port), r.GetValue(cert), r.GetValue(key)), Log);
            await host.StartAsync(ct);
            string address = host.ListeningAddresses().FirstOrDefault() ?? $"http://{r.GetValue(bind)}:{r.GetValue(port)}";
            var c = server.Config;
            Log($"Serving run {server.RunId}: {server.Strategy.Name}, {c.Model} on {c.Dataset}, at {address} (state: {Path.GetFullPath(statePath)}).");
            if (server.Finished)
                Log($"The run in '{statePath}' has already finished; to train again, start a new run with another --state file (or delete this one).");
            else Log($"Training starts when {c.Server.MinDevices} device(s) have enrolled; the run ends at {c.Server.TargetAccuracy:P0} test accuracy" +
                (c.Server.StopAtTarget ? "" : " (measured; stopAtTarget is off)") + ".");
            if (secretText is not null && fresh)
                Log($"Enrolment secret: {secretText}");
            if (!server.Finished) Log($"Join with: ftte join --server {address} --token <secret> --data {c.Dataset}:device=0/{Math.Max(c.Server.MinDevices, 2)},dirichlet=0.5 --memory 2MiB");
            try
            {
                await server.Completion.WaitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                Log("Stopping (interrupted); the run resumes from the state file on the next start.");
            }
            PrintStatus(server.Status(), Console.Out);
            if (r.GetValue(metrics) is { } csv)
            {
                using (var writer = new StreamWriter(csv)) FederationServer.WriteMetricsCsv(writer, server.Metrics());
                Log($"Metrics: {Path.GetFullPath(csv)}");
            }
        }));
        return command;
    }

    private static Command Join()
    {
        var server = new Option<string>("--server") { Description = "Server address, e.g. http://127.0.0.1:50051 or https://host:50051.", Required = true };
        var token = new Option<string>("--token") { Description = "The federation's enrolment secret (from ftte serve).", Required = true };
        var data = new Option<string>("--data") { Description = "This device's data: DATASET:device=I/N[,dirichlet=α|iid|shards=K][,seed=S], e.g. mnist:device=3/10,dirichlet=0.5.", Required = true };
        var memory = new Option<string>("--memory") { Description = "Memory available for training, e.g. 2MiB; tasks whose plan needs more are refused.", DefaultValueFactory = _ => "2MiB" };
        var name = new Option<string?>("--name") { Description = "Stable device name (default: host name and data share)." };
        var throttle = new Option<string?>("--throttle") { Description = "Behave like a slower device: flops=2e8,down=1e6,up=5e5 (FLOP/s, bit/s)." };
        var flops = new Option<double?>("--flops") { Description = "Declared compute in FLOP/s (default: the throttle's, else measured)." };
        var tier = new Option<string>("--tier") { Description = "Label for reports.", DefaultValueFactory = _ => "device" };
        var ca = new Option<string?>("--ca") { Description = "Certificate (PEM) to trust for an https server with a self-signed certificate (ftte certs dev)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of reconnection jitter.", DefaultValueFactory = _ => 1UL };
        var quiet = new Option<bool>("--quiet") { Description = "Print only the final summary." };
        var maxDrop = new Option<double?>("--max-accuracy-drop") { Description = "Withhold an update if accuracy on this device's validation share drops by more than this (0.05 = 5 points)." };
        var maxNorm = new Option<double?>("--max-update-norm") { Description = "Withhold an update whose L2 norm exceeds this." };
        var codec = new Option<string?>("--codec") { Description = $"Send updates with this codec instead of the one the server asks for (server.codec): {UpdateCodec.AllowedText}." };
        var command = new Command("join", "Join a federation as a device: train on local data with the engine, send updates; until the server ends the run.")
        {
            server, token, data, memory, name, throttle, flops, tier, ca, seed, quiet, maxDrop, maxNorm, codec,
        };
        command.SetAction((r, ct) => Cli.RunAsync(async () =>
        {
            var spec = PartitionSpec.Parse(r.GetValue(data)!);
            UpdateCodec? updateCodec = null;
            if (r.GetValue(codec) is { } codecName && !UpdateCodec.TryParse(codecName, out updateCodec, out string? codecError))
                throw new ArgumentException("--codec: " + codecError);
            long memoryBytes = ByteSize.Parse(r.GetValue(memory)!);
            var (local, validation) = spec.LoadParts(new DataOptions());
            var checks = new List<UpdateCheck>(UpdateChecks.Defaults);
            if (r.GetValue(maxDrop) is { } drop)
            {
                if (validation.Count == 0) throw new ArgumentException("--max-accuracy-drop needs validation data: give the data spec a val share, e.g. ,val=0.1.");
                checks.Add(UpdateChecks.MaxAccuracyDrop(drop));
            }
            if (r.GetValue(maxNorm) is { } norm) checks.Add(UpdateChecks.MaxNorm(norm));
            string deviceName = r.GetValue(name) ?? $"{Environment.MachineName}-{spec.Dataset}-{spec.Device}of{spec.Options.Devices}";
            X509Certificate2? trusted = r.GetValue(ca) is { } caPath
                ? (File.Exists(caPath) ? X509Certificate2.CreateFromPem(File.ReadAllText(caPath)) : throw new FileNotFoundException($"Certificate '{caPath}' does not exist.", caPath))
                : null;
            bool silent = r.GetValue(quiet);
            using var client = new DeviceClient(new DeviceOptions
            {
                Server = ParseServer(r.GetValue(server)!),
                Secret = r.GetValue(token)!,
                Name = deviceName,
                MemoryBytes = memoryBytes,
                FlopsPerSecond = r.GetValue(flops),
                Throttle = r.GetValue(throttle) is { } t ? Throttle.Parse(t) : null,
                Tier = r.GetValue(tier)!,
                TrustedCertificate = trusted,
                Seed = r.GetValue(seed),
                Codec = updateCodec,
                Checks = checks,
                Log = silent ? null : line => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {deviceName}: {line}"),
            });
            // Validation accuracy is measured only when a check needs it (it costs two evaluations per task).
            var trainer = r.GetValue(maxDrop) is null ? new EngineTrainer<DatasetView>(local) : new EngineTrainer<DatasetView>(local, validation);
            var summary = await client.RunAsync(trainer, ct);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{deviceName} (device {summary.DeviceId}): {summary.Tasks} task(s), {summary.Accepted} accepted, {summary.Dropped} dropped, {summary.Refused} refused, " +
                $"{summary.Abandoned} not run (memory), {summary.Withheld} withheld by on-device checks, {summary.Reconnects} reconnect(s), {ByteSize.Format(summary.BytesDown)} down, {ByteSize.Format(summary.BytesUp)} up; {summary.EndReason}."));
        }));
        return command;
    }

    private static Command Status()
    {
        var server = new Option<string>("--server") { Description = "Server address.", DefaultValueFactory = _ => "http://127.0.0.1:50051" };
        var ca = new Option<string?>("--ca") { Description = "Certificate (PEM) to trust for a self-signed https server." };
        var json = new Option<bool>("--json") { Description = "Print the status as JSON." };
        var command = new Command("status", "Print a federation server's progress: version, accuracy, devices online, updates per second, bytes.")
        {
            server, ca, json,
        };
        command.SetAction((r, ct) => Cli.RunAsync(async () =>
        {
            X509Certificate2? trusted = r.GetValue(ca) is { } caPath ? X509Certificate2.CreateFromPem(File.ReadAllText(caPath)) : null;
            using var channel = new GrpcChannel(ParseServer(r.GetValue(server)!), new GrpcChannelOptions { TrustedCertificate = trusted });
            var status = await channel.CallAsync(FederationMethods.GetStatus, new V1.StatusRequest(), V1.StatusReply.Parser, null, TimeSpan.FromSeconds(10), ct);
            if (r.GetValue(json)) Console.WriteLine(Google.Protobuf.JsonFormatter.Default.Format(status));
            else PrintStatus(status, Console.Out);
        }));
        return command;
    }

    private static Command Certs()
    {
        var dir = new Option<string>("--out") { Description = "Directory for cert.pem and key.pem.", DefaultValueFactory = _ => "certs" };
        var hosts = new Option<string[]>("--host") { Description = "Host names / IP addresses the certificate is for (default localhost, 127.0.0.1, ::1); repeat for more." };
        var days = new Option<int>("--days") { Description = "Validity in days.", DefaultValueFactory = _ => 30 };
        var force = new Option<bool>("--force") { Description = "Overwrite existing files." };
        var dev = new Command("dev", "Make a self-signed TLS certificate for local use (ftte serve --cert/--key, ftte join --ca).") { dir, hosts, days, force };
        dev.SetAction(r => Cli.Run(() =>
        {
            var names = r.GetValue(hosts) is { Length: > 0 } h ? h : ["localhost", "127.0.0.1", "::1"];
            var (certPath, keyPath) = DevCertificate.Create(r.GetValue(dir)!, names, TimeSpan.FromDays(r.GetValue(days)), overwrite: r.GetValue(force));
            Console.WriteLine($"certificate: {certPath}\nprivate key: {keyPath}\nfor: {string.Join(", ", names)}");
            Console.WriteLine($"serve with: ftte serve --bind 0.0.0.0 --cert {certPath} --key {keyPath}");
            Console.WriteLine($"join with:  ftte join --server https://{names[0]}:50051 --ca {certPath} ...");
        }));
        return new Command("certs", "TLS certificates.") { dev };
    }

    private static Uri ParseServer(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ArgumentException($"--server '{text}' is not an http:// or https:// address, e.g. http://127.0.0.1:50051.");

    private static void PrintStatus(V1.StatusReply s, TextWriter o)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"run {s.RunId}  {s.Strategy}  {(s.Finished ? "finished" : "running")}  uptime {HumanSeconds(s.UptimeSeconds)}"));
        o.WriteLine(string.Create(inv, $"  version            {s.Version}"));
        string reached = s.TimeToTargetSeconds > 0 ? $"reached at {HumanSeconds(s.TimeToTargetSeconds)}" : "not reached";
        o.WriteLine(double.IsNaN(s.TestAccuracy)
            ? "  test accuracy      not evaluated yet"
            : string.Create(inv, $"  test accuracy      {s.TestAccuracy:P2} (version {s.EvaluatedVersion}); target {s.TargetAccuracy:P0} {reached}"));
        o.WriteLine(string.Create(inv, $"  devices            {s.DevicesOnline} online of {s.DevicesEnrolled} enrolled, {s.TasksInFlight} task(s) in flight"));
        o.WriteLine(string.Create(inv, $"  updates            {s.UpdatesAccepted:N0} accepted ({s.UpdatesPerSecond:0.##}/s over the last minute), {s.UpdatesRefused:N0} refused"));
        o.WriteLine(string.Create(inv, $"  bytes              {ByteSize.Format(s.BytesDown)} down, {ByteSize.Format(s.BytesUp)} up"));
        if (!double.IsNaN(s.Epsilon))
            o.WriteLine(string.Create(inv, $"  privacy            ε = {s.Epsilon:0.###} at δ = {s.Delta:0.#e0} (client-level DP, RDP accountant)") +
                (double.IsNaN(s.EpsilonPerDevice) ? "" : string.Create(inv, $"; per device without the sampling assumption ε ≤ {s.EpsilonPerDevice:0.###}")));
        if (s.Finished && s.StopReason.Length > 0) o.WriteLine($"  ended              {s.StopReason}");
        if (s.Refusals.Count > 0)
            o.WriteLine("  refused by reason  " + string.Join(", ", s.Refusals.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value}")));
    }

    private static string HumanSeconds(double seconds) => Ftte.Reporting.HumanFormat.Duration(seconds);
}
