using System.Collections.Concurrent;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Federation.Config;
using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>Every wait in these tests is bounded, so a hang fails the test instead of blocking CI.</summary>
internal static class Limits
{
    public static readonly TimeSpan Call = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan Start = TimeSpan.FromSeconds(30);

    public static Task<T> Bounded<T>(this Task<T> task, string what) => Bounded(task, Call, what);

    public static async Task<T> Bounded<T>(this Task<T> task, TimeSpan limit, string what)
    {
        try { return await task.WaitAsync(limit); }
        catch (TimeoutException) { throw new TimeoutException($"{what} did not finish within {limit.TotalSeconds:0} s."); }
    }

    public static async Task Bounded(this Task task, TimeSpan limit, string what)
    {
        try { await task.WaitAsync(limit); }
        catch (TimeoutException) { throw new TimeoutException($"{what} did not finish within {limit.TotalSeconds:0} s."); }
    }
}

/// <summary>An enrolled device as the tests see it.</summary>
internal sealed record Device(string Name, int Id, string Token, V1.EnrolReply Enrolment);

/// <summary>
/// A real server in-process: the state file in a temp directory, Kestrel on a free port of 127.0.0.1, and a
/// <see cref="GrpcChannel"/> to it. The data set is found the way every test project finds it ($FTTE_DATA or the
/// user cache, filled by <c>ftte data fetch all</c>); a missing data set fails the test with the loader's message.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    public const string Secret = "test-enrolment-secret";
    public const ulong Seed = 7;
    /// <summary>Half of fc2's output channels and all of fc3: a partial trainable set, so payloads stay small.</summary>
    public const string Trainable = "fc2=1/2,fc3";

    private readonly bool _ownsDirectory;

    public string Directory { get; }
    public string StatePath => Path.Combine(Directory, "state.db");
    public FederationServer Server { get; private set; } = null!;
    public ServerHost Host { get; private set; } = null!;
    public Uri Address { get; private set; } = null!;
    public GrpcChannel Channel { get; private set; } = null!;
    public ConcurrentQueue<string> Log { get; } = new();

    private TestServer(string directory, bool ownsDirectory)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
    }

    /// <summary>A small fast run: digits, an MLP, FedBuff with a buffer larger than any test fills (unless told).</summary>
    public static ServerConfig Config(int minDevices = 1, int concurrency = 8, int bufferSize = 100, long chunkBytes = 8 * 1024,
        double tokenLifetime = 3600, string trainable = Trainable) => new()
    {
        Name = "server-tests",
        Seed = Seed,
        Model = "mlp",
        Dataset = "digits",
        Strategy = new StrategyConfig { Kind = StrategyKind.Fedbuff, Trainable = trainable, Concurrency = concurrency, BufferSize = bufferSize },
        Local = new LocalConfig { Batch = 8 },
        Server = new ServeConfig
        {
            MinDevices = minDevices,
            StopAtTarget = false,
            EvalEvery = 3600,
            EvalSamples = 100,
            LongPoll = 5,
            ChunkBytes = chunkBytes,
            MaxMessageBytes = 64 * 1024,
            MaxUpdateNorm = 100,
            TokenLifetime = tokenLifetime,
        },
    };

    public static async Task<TestServer> StartAsync(ServerConfig? config = null, string? directory = null, EndpointOptions? listen = null,
        GrpcChannelOptions? channel = null)
    {
        var test = new TestServer(directory ?? System.IO.Directory.CreateTempSubdirectory("ftte-server-test-").FullName, directory is null);
        try
        {
            await test.OpenAsync(config ?? Config(), listen, channel);
            return test;
        }
        catch
        {
            await test.DisposeAsync();
            throw;
        }
    }

    private async Task OpenAsync(ServerConfig? config, EndpointOptions? listen, GrpcChannelOptions? channel)
    {
        Server = FederationServer.Open(StatePath, config, Secret, dataOptions: null, log: Log.Enqueue);
        Host = ServerHost.Create(Server, listen ?? new EndpointOptions(Port: 0), Log.Enqueue);
        await Host.StartAsync().Bounded(Limits.Start, "Starting Kestrel");
        string address = Host.ListeningAddresses().Single();
        Address = new Uri(address);
        Channel = new GrpcChannel(Address, channel);
    }

    /// <summary>The port only (for clients that want host:port).</summary>
    public int Port => Address.Port;

    /// <summary>Stops Kestrel and closes the state file, keeping the directory; then opens it again (a restart of the process).</summary>
    public async Task RestartAsync(ServerConfig? config = null)
    {
        await StopAsync();
        await OpenAsync(config, null, null);
    }

    public async Task StopAsync()
    {
        Channel?.Dispose();
        if (Host is not null) await Host.DisposeAsync().AsTask().Bounded(Limits.Start, "Stopping the server");
        else Server?.Dispose();
        Host = null!;
        Server = null!;
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); }
        finally
        {
            if (_ownsDirectory)
            {
                try { System.IO.Directory.Delete(Directory, recursive: true); }
                catch (IOException) { }
            }
        }
    }

    // ---- calls -------------------------------------------------------------------------------------

    public Task<TResponse> Call<TRequest, TResponse>(string method, TRequest request, Google.Protobuf.MessageParser<TResponse> parser, string? token = null)
        where TRequest : Google.Protobuf.IMessage<TRequest> where TResponse : Google.Protobuf.IMessage<TResponse> =>
        Channel.CallAsync(method, request, parser, token, Limits.Call).Bounded(method);

    public Task<V1.StatusReply> StatusAsync() => Call(FederationMethods.GetStatus, new V1.StatusRequest(), V1.StatusReply.Parser);

    public static V1.Capabilities Capabilities(int samples = 200) => new()
    {
        MemoryBytes = 1L << 30,
        FlopsPerSecond = 1e9,
        DownlinkBitsPerSecond = 1e8,
        UplinkBitsPerSecond = 1e8,
        LatencySeconds = 0.01,
        TrainSamples = samples,
        Tier = "test",
    };

    public async Task<Device> EnrolAsync(string name, int samples = 200)
    {
        var reply = await Call(FederationMethods.Enrol, new V1.EnrolRequest { Secret = Secret, DeviceName = name, Capabilities = Capabilities(samples) }, V1.EnrolReply.Parser);
        Assert.False(string.IsNullOrEmpty(reply.Token));
        return new Device(name, reply.DeviceId, reply.Token, reply);
    }

    /// <summary>The device's task; fails if the server answers Wait (every test config gives enrolled devices a task at once).</summary>
    public async Task<V1.TaskAssignment> TaskAsync(Device device)
    {
        var reply = await Call(FederationMethods.GetTask, new V1.GetTaskRequest { WaitSeconds = 5 }, V1.GetTaskReply.Parser, device.Token);
        Assert.True(reply.OutcomeCase == V1.GetTaskReply.OutcomeOneofCase.Task,
            $"Expected a task for {device.Name}, got {reply.OutcomeCase}: {reply.Wait?.Reason}");
        return reply.Task;
    }

    public Task<V1.SubmitReply> SubmitAsync(Device device, V1.UpdateChunk chunk) =>
        Call(FederationMethods.SubmitUpdate, chunk, V1.SubmitReply.Parser, device.Token);

    /// <summary>Uploads a whole payload in chunks of the server's chunk size; returns the last reply.</summary>
    public async Task<V1.SubmitReply> UploadAsync(Device device, long taskId, byte[] payload, int samples = 50, string? sha256 = null,
        long? totalBytes = null, int? chunkBytes = null, string codec = "")
    {
        int chunk = chunkBytes ?? device.Enrolment.ChunkBytes;
        string sha = sha256 ?? Sha256(payload);
        V1.SubmitReply? reply = null;
        for (int offset = 0; offset < payload.Length; offset += chunk)
        {
            int length = Math.Min(chunk, payload.Length - offset);
            reply = await SubmitAsync(device, Chunk(taskId, payload, offset, length, samples, sha, totalBytes, codec));
            bool last = offset + length == payload.Length;
            if (!last)
            {
                Assert.Equal(V1.Verdict.Pending, reply.Verdict);
                Assert.Equal(offset + length, reply.AcknowledgedBytes);
            }
        }
        return reply!;
    }

    public static V1.UpdateChunk Chunk(long taskId, byte[] payload, int offset, int length, int samples = 50, string? sha256 = null, long? totalBytes = null,
        string codec = "") => new()
    {
        Codec = codec,
        TaskId = taskId,
        Offset = offset,
        TotalBytes = totalBytes ?? payload.Length,
        Data = Google.Protobuf.ByteString.CopyFrom(payload, offset, length),
        Sha256 = sha256 ?? Sha256(payload),
        Samples = samples,
        TrainLoss = 0.5,
        TrainAccuracy = 0.8,
    };

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));

    /// <summary>Submits a valid small update for the device's task and checks it is accepted.</summary>
    public async Task<V1.SubmitReply> SubmitValidAsync(Device device, V1.TaskAssignment? task = null)
    {
        task ??= await TaskAsync(device);
        var reply = await UploadAsync(device, task.TaskId, Payloads.For(device).Delta(task.Trainable, 1e-3f));
        Assert.True(reply.Verdict == V1.Verdict.Accepted, $"Expected Accepted for task {task.TaskId}, got {reply.Verdict}: {reply.Detail}");
        return reply;
    }

    /// <summary>Asserts the call fails with <paramref name="code"/> and a message containing every one of <paramref name="words"/>.</summary>
    public static async Task<RpcException> Refused(StatusCode code, Func<Task> call, params string[] words)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(e.Status == code, $"Expected {code}, got {e.Status}: {e.Message}");
        foreach (string word in words)
            Assert.True(e.Message.Contains(word, StringComparison.OrdinalIgnoreCase), $"The message should name the problem ('{word}'): {e.Message}");
        return e;
    }

    /// <summary>
    /// After a bad input: the run goes on (a valid update from <paramref name="other"/> is accepted) and the refusal is
    /// counted under <paramref name="reason"/>; the refusal total agrees with the per-reason counts.
    /// </summary>
    public async Task AssertRunGoesOn(Device other, string reason, long expectedCount = 1)
    {
        var before = await StatusAsync();
        await SubmitValidAsync(other);
        var status = await StatusAsync();
        Assert.Equal(before.UpdatesAccepted + 1, status.UpdatesAccepted);
        Assert.True(status.Refusals.TryGetValue(reason, out long count), $"No refusal counted under '{reason}'; counted: {Describe(status)}");
        Assert.Equal(expectedCount, count);
        Assert.Equal(status.Refusals.Values.Sum(), status.UpdatesRefused);
    }

    public static string Describe(V1.StatusReply status) =>
        status.Refusals.Count == 0 ? "none" : string.Join(", ", status.Refusals.Select(kv => $"{kv.Key}={kv.Value}"));
}

/// <summary>Builds update payloads on a model built exactly like the server's (same spec, seed and shape).</summary>
internal sealed class Payloads
{
    private static readonly ConcurrentDictionary<string, Model> Models = new();
    private readonly Model _model;

    private Payloads(Model model) => _model = model;

    public static Payloads For(Device device) => For(device.Enrolment.Model);

    public static Payloads For(V1.ModelDescription description)
    {
        string key = $"{description.Spec}|{string.Join("x", description.InputShape)}|{description.Classes}";
        var model = Models.GetOrAdd(key, _ => ModelSource.Load(description.Spec, TestServer.Seed, new Shape([.. description.InputShape]), description.Classes));
        return new Payloads(model.Clone());
    }

    /// <summary>The model as the server built it at version 0.</summary>
    public Model Model => _model;

    public TrainableSet Set(string trainable) => TrainableSet.Parse(_model, trainable);

    /// <summary>A delta of <paramref name="value"/> on every trained coordinate of <paramref name="trainable"/>.</summary>
    public byte[] Delta(string trainable, float value)
    {
        lock (_model)
        {
            _model.Weights.Fill(value);
            return ParameterSerializer.Serialize(_model, Set(trainable));
        }
    }

    /// <summary>A small delta with one trained coordinate set to <paramref name="poison"/>.</summary>
    public byte[] DeltaWith(string trainable, float poison)
    {
        lock (_model)
        {
            _model.Weights.Fill(1e-3f);
            var ranges = Set(trainable).Ranges(_model);
            var r = ranges[ranges.Length / 2];
            _model.Weights[r.Offset + r.Length / 2] = poison;
            return ParameterSerializer.Serialize(_model, Set(trainable));
        }
    }
}
