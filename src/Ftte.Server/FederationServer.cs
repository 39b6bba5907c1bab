using System.Diagnostics;
using System.Security.Cryptography;
using Ftte.Core;
using Ftte.Core.Config;
using Ftte.Data;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Planning;
using Ftte.Engine.Training;
using Ftte.Federation;
using Ftte.Federation.Config;
using Ftte.Federation.Compression;
using Ftte.Federation.Privacy.SecAgg;
using Ftte.Protocol;
using Ftte.Server.Storage;
using Google.Protobuf;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server;

/// <summary>
/// The federation server's core: runs one <see cref="Strategy"/> for real devices on the wall clock. It is the
/// strategy's <see cref="IFederationHost"/> (the same contract the simulator implements), and it answers the
/// ftte.v1 calls (<see cref="Enrol"/>, <see cref="GetTaskAsync"/>, <see cref="GetModel"/>, <see cref="Submit"/>,
/// <see cref="Heartbeat"/>, <see cref="Status"/>); the transport (<see cref="GrpcEndpoint"/>) only frames them.
///
/// <para><b>One thread at a time.</b> Every call and every timer takes one lock, so the strategy sees events one
/// by one, in order, exactly as in simulation. Evaluation runs outside the lock on a snapshot.</para>
///
/// <para><b>Durability rule.</b> An update is <i>accepted</i> only when the SQLite transaction that holds it has
/// committed (WAL, synchronous=FULL), before the device hears "accepted". A server step writes the new version
/// and marks the updates it merged as applied in one transaction. So after <c>kill -9</c> at any moment a restart
/// has every acknowledged update either in a stored version or in the pending buffer, which it hands back to the
/// strategy (<see cref="Strategy.Restore"/>); tasks that were in flight are expired and devices get new ones.
/// Upload chunks are durable when acknowledged, so an upload resumes after a lost connection; a restart expires the
/// in-flight tasks and drops their partial uploads.</para>
/// </summary>
public sealed class FederationServer : IFederationHost, IDisposable
{
    private readonly object _gate = new();
    private readonly ServerStore _store;
    private readonly ServerConfig _config;
    private readonly ServeConfig _serve;
    private readonly StoredRun _run;
    private readonly Strategy _strategy;
    private readonly GlobalModel _global;
    private readonly Model _scratch;           // decodes updates and serializes payloads (under the lock)
    private readonly Model _evalModel;
    private readonly Evaluator _evaluator;      // on its own model copy, outside the lock
    private readonly DatasetView _evalSet;
    private readonly Action<string> _log;
    private readonly CodecPolicy _codecs;
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly Timer _sweep;
    private readonly List<Timer> _timers = [];

    private readonly List<DeviceInfo> _devices = [];
    private readonly List<DeviceState> _deviceStates = [];
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _byToken = new(StringComparer.Ordinal);
    private readonly Dictionary<long, LiveTask> _live = [];
    private readonly Dictionary<int, float[]> _snapshots = [];
    private readonly Dictionary<string, (WeightRange[] Ranges, long Bytes, long Peak)> _shapes = [];
    private readonly Dictionary<(int Version, V1.ModelPart Part, string Trainable), (byte[] Payload, string Sha)> _payloads = [];
    private readonly Queue<(int, V1.ModelPart, string)> _payloadOrder = new();
    private readonly Queue<double> _acceptTimes = new();
    private readonly Dictionary<string, long> _unsavedRefusals = new(StringComparer.Ordinal);
    private readonly SecureMailboxes _mailboxes = new();

    private long _nextTaskId;
    private bool _started, _finished, _commitDue, _wakeRequested, _evalRunning;
    // Set by Dispose: a timer callback or an evaluation that was already running when the store closed does nothing
    // (a timer callback that threw on the closed store would end the process).
    private bool _disposed;
    private string _finishReason = "";
    private double _finishedAt = double.NaN;
    private int _evaluatedVersion = -1;
    private double _lastEvalAt = double.NegativeInfinity;
    private double _lastAccuracy = double.NaN, _timeToTarget;
    private long _accepted, _refused, _bytesDown, _bytesUp;

    private sealed class DeviceState
    {
        public required string Name;
        public required string TokenHash;
        public DateTimeOffset TokenExpires;
        public double LastSeen = double.NegativeInfinity;
        public long Task = -1;
        public TaskCompletionSource<LiveTask?>? Waiter;
    }

    private sealed class LiveTask
    {
        public required TaskTicket Ticket;
        public required float[] BaseWeights;
        public required WeightRange[] Ranges;
        /// <summary>Trained coordinates: what a compressed update encodes.</summary>
        public required int Coordinates;
        /// <summary>Size of the update in the parameter format (float32).</summary>
        public required long PayloadBytes;
        public required long PlannedPeak;
        public required string FrozenHash;
        public double LastActivity;
        public bool Delivered;
        /// <summary>The codec of the chunks held so far (null before the first).</summary>
        public string? UploadCodec;
    }

    private FederationServer(ServerStore store, ServerConfig config, StoredRun run, Model model, DatasetSplits data, Action<string> log)
    {
        _store = store;
        _config = config;
        _serve = config.Server;
        _run = run;
        _log = log;
        _codecs = _serve.Codecs();
        _global = new GlobalModel(model);
        _scratch = model.Clone();
        _evalModel = model.Clone();
        _evaluator = new Evaluator(_evalModel);
        _evalSet = data.Test.SeededSubset(_serve.EvalSamples, Dataset.EvaluationSeed(config.Seed));
        var proxy = config.Strategy.ProxySampleCount > 0 ? data.Train.SeededSubset(config.Strategy.ProxySampleCount, Federation.Config.StrategyConfig.ProxySeed(config.Seed)) : (DatasetView?)null;
        // DP noise from the OS's cryptographic generator: seeded noise could be regenerated and subtracted.
        _strategy = config.Strategy.Create(config.Local.ToLocalTraining(), ignoreMemory: false, config.Seed, proxy, secureNoise: true);
        _sweep = new Timer(_ => Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Opens (or creates) the run in the state database. A new database takes <paramref name="config"/> (default:
    /// <c>new ServerConfig()</c>) and needs the enrolment <paramref name="secret"/> (only its SHA-256 is stored); an
    /// existing one resumes its stored run, and then a given config or secret must match the stored ones.
    /// </summary>
    public static FederationServer Open(string statePath, ServerConfig? config, string? secret, DataOptions? dataOptions = null, Action<string>? log = null)
    {
        log ??= _ => { };
        var store = ServerStore.Open(statePath);
        try
        {
            var secretHash = secret is null ? null : SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret));
            var run = store.LoadRun();
            bool resuming = run is not null;
            if (run is null)
            {
                if (secretHash is null) throw new ArgumentException($"A new run needs an enrolment secret ('{statePath}' holds no run yet).");
                config ??= new ServerConfig();
            }
            else
            {
                var stored = StrictJson.Parse<ServerConfig>(run.ConfigJson, $"{statePath} (stored run config)");
                if (config is not null && StrictJson.Serialize(config) != StrictJson.Serialize(WithoutResolved(stored, config)))
                    throw new ConfigException($"'{statePath}' holds run {run.RunId} with a different config; resume it without --config, or start a new run with a new --state file.");
                if (secretHash is not null && !CryptographicOperations.FixedTimeEquals(secretHash, run.SecretHash))
                    throw new ConfigException($"The enrolment secret differs from the one run {run.RunId} in '{statePath}' was created with; pass the original secret, or start a new run with a new --state file.");
                config = stored;
            }
            var data = DatasetCatalog.Load(config.Dataset, dataOptions);
            var model = ModelSource.Load(config.Model, config.Seed, new Shape([.. data.Train.SampleShape]), data.Train.ClassCount);
            // Version 0 comes from the file: for a new run, and for one whose process ended between creating the run and
            // saving version 0 (Restore saves it). A resumed run's weights otherwise come from its stored versions.
            if (config.InitialWeights is { } weights && (run is null || store.StoredVersions().Count == 0))
                InitialWeightsFile.Load(model, weights, "initialWeights", config.Model, config.Dataset);
            if (run is null)
            {
                // Created only once data, model and weights are known to load, so a bad file leaves no half-made run.
                run = new StoredRun(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), StrictJson.Serialize(config), secretHash!, DateTimeOffset.UtcNow);
                store.CreateRun(run.RunId, run.ConfigJson, run.SecretHash, run.CreatedAt);
            }
            var server = new FederationServer(store, config, run, model, data, log);
            server.Restore(resuming);
            return server;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The stored config minus what the server resolved after start (FTTE's chosen set and batch, its re-selection and its
    /// contribution metric made explicit), for comparison with a given one.
    /// </summary>
    private static ServerConfig WithoutResolved(ServerConfig stored, ServerConfig given)
    {
        if (stored.Strategy.Kind != Federation.Config.StrategyKind.Ftte) return stored;
        // A metric left open was stored as the default of the first start, whatever the default is now; resuming with it open
        // keeps the stored one (so, too, when the first start named it: the run goes on as it started).
        var strategy = given.Strategy.ContributionMetric is null ? stored.Strategy with { ContributionMetric = null } : stored.Strategy;
        if (given.Strategy.ReselectMargin is null) strategy = strategy with { ReselectMargin = null };
        if (given.Strategy.Trainable is not null) return stored with { Strategy = strategy };
        int? storedReselect = stored.Strategy.ReselectAfter is 0 ? null : stored.Strategy.ReselectAfter;
        return stored with
        {
            Strategy = strategy with
            {
                Trainable = null,
                // Left open, it resumes as stored (a run started when the default was 100 keeps 100); given, it must agree.
                ReselectAfter = given.Strategy.ReselectAfter is null || storedReselect == given.Strategy.EffectiveReselectAfter
                    ? given.Strategy.ReselectAfter : stored.Strategy.ReselectAfter,
            },
            Local = stored.Local with { Batch = given.Local.Batch },
        };
    }

    private void Restore(bool resuming)
    {
        lock (_gate)
        {
            var latest = _store.LoadLatestVersion();
            if (latest is { } v) _global.Restore(v.Version, v.Weights);
            else _store.SaveVersion(0, _global.Weights, DateTimeOffset.UtcNow);
            foreach (var d in _store.LoadDevices())
            {
                _devices.Add(new DeviceInfo(d.Id, d.Tier, d.MemoryBytes, d.FlopsPerSecond, d.DownlinkBitsPerSecond, d.UplinkBitsPerSecond, d.LatencySeconds, d.TrainSamples));
                var state = new DeviceState { Name = d.Name, TokenHash = Convert.ToHexStringLower(d.TokenHash), TokenExpires = d.TokenExpires };
                _deviceStates.Add(state);
                _byName[d.Name] = d.Id;
                _byToken[state.TokenHash] = d.Id;
            }
            // Task ids start at 1: task_id 0 means "no task" on the wire (HeartbeatRequest).
            _nextTaskId = Math.Max(1, _store.NextTaskId());
            var expired = _store.ExpireOpenTasks(DateTimeOffset.UtcNow);
            // An expired task takes no more chunks, so its partial upload would only take up space.
            foreach (var task in expired) _store.DeleteUpload(task.TaskId);
            _accepted = _store.AppliedUpdateCount() + _store.LoadPending().Count;
            foreach (var (set, values) in _store.LoadRmsHistory())
                foreach (double value in values) Remember(new UpdateRms(set, value));
            _refused = _store.Refusals().Values.Sum();
            var metrics = _store.LoadMetrics();
            if (metrics.Count > 0)
            {
                var last = metrics[^1];
                _lastAccuracy = last.TestAccuracy;
                _evaluatedVersion = last.Version;
                _bytesDown = last.BytesDown;
                _bytesUp = last.BytesUp;
                if (metrics.FirstOrDefault(m => m.TestAccuracy >= _serve.TargetAccuracy) is { } hit) _timeToTarget = hit.Time;
            }
            if (resuming)
                _log($"Resumed run {_run.RunId}: version {_global.Version}, {_devices.Count} device(s) known, {expired.Count} in-flight task(s) expired, {_store.LoadPending().Count} accepted update(s) not yet applied.");
            if (CheckFinished()) return;
            if (_devices.Count >= _serve.MinDevices) StartStrategy();
        }
    }

    public ServerConfig Config => _config;
    public string RunId => _run.RunId;
    public Strategy Strategy => _strategy;
    public bool Finished { get { lock (_gate) return _finished; } }
    /// <summary>Completes when the run has ended and the grace period for devices to hear it has passed.</summary>
    public Task Completion => _completion.Task;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // ---- IFederationHost (called by the strategy, under the lock) -------------------------------

    public double Now => (DateTimeOffset.UtcNow - _run.CreatedAt).TotalSeconds;
    public GlobalModel Global => _global;
    public IReadOnlyList<DeviceInfo> Devices => _devices;
    public int InFlight => _live.Count;

    public void IdleDevices(List<int> into)
    {
        into.Clear();
        double now = Now;
        for (int d = 0; d < _deviceStates.Count; d++)
            if (_deviceStates[d].Task < 0 && IsOnline(_deviceStates[d], now)) into.Add(d);
    }

    public TaskTicket Dispatch(int deviceId, TaskSpec spec)
    {
        if ((uint)deviceId >= (uint)_deviceStates.Count)
            throw new ArgumentOutOfRangeException(nameof(deviceId), deviceId, $"No device {deviceId}; {_deviceStates.Count} enrolled.");
        var device = _deviceStates[deviceId];
        if (device.Task >= 0)
            throw new InvalidOperationException($"{_strategy.Name} dispatched to device {deviceId}, which is busy with task {device.Task}.");
        double now = Now;
        var ticket = new TaskTicket(_nextTaskId++, deviceId, _global.Version, now, spec);
        var shape = Shape(spec);
        var baseWeights = Snapshot();
        var task = new LiveTask
        {
            Ticket = ticket,
            BaseWeights = baseWeights,
            Ranges = shape.Ranges,
            Coordinates = UpdateCompression.CountOf(shape.Ranges),
            PayloadBytes = shape.Bytes,
            PlannedPeak = shape.Peak,
            FrozenHash = spec.Broadcast == Broadcast.TrainableOnly ? Wire.FrozenHash(baseWeights, shape.Ranges) : "",
            LastActivity = now,
        };
        _store.AddTask(new StoredTask(ticket.TaskId, deviceId, ticket.BaseVersion, spec.TrainableKey,
            JsonFormatter.Default.Format(Wire.ToWire(spec.Local)), TaskState.Dispatched, DateTimeOffset.UtcNow));
        _live[ticket.TaskId] = task;
        device.Task = ticket.TaskId;
        if (device.Waiter is { } waiter)
        {
            device.Waiter = null;
            task.Delivered = true;
            waiter.TrySetResult(task);
        }
        return ticket;
    }

    public void Cancel(long taskId)
    {
        if (!_live.Remove(taskId, out var task)) return;
        _deviceStates[task.Ticket.DeviceId].Task = -1;
        _store.SetTaskState(taskId, TaskState.Cancelled, "the strategy closed its round", DateTimeOffset.UtcNow);
        _store.DeleteUpload(taskId);
    }

    public void SetTimer(double delaySeconds, int tag)
    {
        if (!(delaySeconds >= 0)) throw new ArgumentOutOfRangeException(nameof(delaySeconds), delaySeconds, "A timer delay must be ≥ 0 seconds.");
        Timer? timer = null;
        timer = new Timer(_ =>
        {
            lock (_gate)
            {
                _timers.Remove(timer!);
                if (_disposed || _finished || !_started) return;
                _strategy.OnTimer(this, tag);
                AfterStrategy(null);
            }
            timer!.Dispose();
        });
        _timers.Add(timer);
        timer.Change(TimeSpan.FromSeconds(delaySeconds), Timeout.InfiniteTimeSpan);
    }

    public void WaitForDevices() => _wakeRequested = true;

    /// <summary>Secure aggregation's messages wait in per-task mailboxes for the devices' polls.</summary>
    public ISecureTransport SecureTransport => _mailboxes;

    public void Commit(int updatesMerged)
    {
        _global.Advance();
        _commitDue = true;
    }

    // ---- calls ----------------------------------------------------------------------------------

    /// <summary>Enrol: check the secret and the declared capabilities, assign (or keep) the device id, issue a token.</summary>
    public V1.EnrolReply Enrol(V1.EnrolRequest request)
    {
        var secretHash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(request.Secret ?? ""));
        if (!CryptographicOperations.FixedTimeEquals(secretHash, _run.SecretHash))
            throw Refuse("bad-secret", StatusCode.Unauthenticated, "Wrong enrolment secret: use the secret the server printed at start (ftte join --token).");
        string name = request.DeviceName ?? "";
        if (name.Length is 0 or > 128) throw Refuse("bad-enrol", StatusCode.InvalidArgument, "device_name must be 1–128 characters (a stable name per device).");
        var caps = request.Capabilities ?? throw Refuse("bad-enrol", StatusCode.InvalidArgument, "capabilities are missing: declare memory_bytes, flops_per_second, links and train_samples.");
        CheckCapabilities(caps);

        string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        string tokenHash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));
        var expires = DateTimeOffset.UtcNow.AddSeconds(_serve.TokenLifetime);
        lock (_gate)
        {
            double now = Now;
            if (_byName.TryGetValue(name, out int id))
            {
                // Re-enrolment (a restarted device or an expired token): same id, fresh token; the first declaration stands.
                var state = _deviceStates[id];
                _byToken.Remove(state.TokenHash);
                _store.UpdateDeviceToken(id, Convert.FromHexString(tokenHash), expires);
                state.TokenHash = tokenHash;
                state.TokenExpires = expires;
                state.LastSeen = now;
                _byToken[tokenHash] = id;
            }
            else
            {
                var at = DateTimeOffset.UtcNow;
                id = _store.AddDevice(new StoredDevice(0, name, string.IsNullOrEmpty(caps.Tier) ? "device" : caps.Tier, caps.MemoryBytes, caps.FlopsPerSecond,
                    caps.DownlinkBitsPerSecond, caps.UplinkBitsPerSecond, caps.LatencySeconds, caps.TrainSamples, Convert.FromHexString(tokenHash), expires, at, at));
                var info = new DeviceInfo(id, string.IsNullOrEmpty(caps.Tier) ? "device" : caps.Tier, caps.MemoryBytes, caps.FlopsPerSecond,
                    caps.DownlinkBitsPerSecond, caps.UplinkBitsPerSecond, caps.LatencySeconds, caps.TrainSamples);
                _devices.Add(info);
                _deviceStates.Add(new DeviceState { Name = name, TokenHash = tokenHash, TokenExpires = expires, LastSeen = now });
                _byName[name] = id;
                _byToken[tokenHash] = id;
                _log($"Device {id} '{name}' enrolled: {ByteSize.Format(caps.MemoryBytes)}, {caps.FlopsPerSecond:0.##e0} FLOP/s, {caps.TrainSamples} samples.");
                if (_started && !_finished)
                {
                    _strategy.OnDeviceJoined(this, info);
                    AfterStrategy(null);
                }
                else if (!_started && !_finished && _devices.Count >= _serve.MinDevices)
                {
                    StartStrategy(); // may decline (logged) until a device that can hold the plan enrols
                }
            }
            var model = _global.Model;
            return new V1.EnrolReply
            {
                DeviceId = id,
                Token = token,
                TokenExpiresUnixMs = expires.ToUnixTimeMilliseconds(),
                RunId = _run.RunId,
                ChunkBytes = (int)_serve.ChunkBytes,
                MaxUpdateBytes = ParameterSerializer.SerializedSize(model),
                Model = new V1.ModelDescription
                {
                    Spec = _config.Model,
                    InputShape = { model.InputShape.Dims.ToArray() },
                    Classes = model.ClassCount,
                    ParameterCount = model.ParameterCount,
                    Dataset = _config.Dataset,
                },
            };
        }
    }

    private void CheckCapabilities(V1.Capabilities c)
    {
        static bool Positive(double v) => v > 0 && double.IsFinite(v);
        string? problem =
            c.MemoryBytes <= 0 ? $"memory_bytes must be > 0 (got {c.MemoryBytes})"
            : !Positive(c.FlopsPerSecond) ? $"flops_per_second must be a positive number (got {c.FlopsPerSecond})"
            : !Positive(c.DownlinkBitsPerSecond) ? $"downlink_bits_per_second must be a positive number (got {c.DownlinkBitsPerSecond})"
            : !Positive(c.UplinkBitsPerSecond) ? $"uplink_bits_per_second must be a positive number (got {c.UplinkBitsPerSecond})"
            : !(c.LatencySeconds >= 0 && double.IsFinite(c.LatencySeconds)) ? $"latency_seconds must be ≥ 0 (got {c.LatencySeconds})"
            : c.TrainSamples is < 1 or > 100_000_000 ? $"train_samples must be 1–100,000,000 (got {c.TrainSamples})"
            : c.Tier.Length > 64 ? "tier must be at most 64 characters"
            : null;
        if (problem is not null) throw Refuse("bad-enrol", StatusCode.InvalidArgument, "Bad capabilities: " + problem + ".");
    }

    /// <summary>The device behind a bearer token; every call but Enrol and GetStatus goes through here.</summary>
    public int Authenticate(string? authorization)
    {
        if (string.IsNullOrEmpty(authorization))
            throw Refuse("no-token", StatusCode.Unauthenticated, "Missing authorization: send 'authorization: Bearer <token>' with the token from Enrol.");
        const string prefix = "Bearer ";
        if (!authorization.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            throw Refuse("bad-token", StatusCode.Unauthenticated, "Authorization must be 'Bearer <token>'.");
        string hash = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(authorization[prefix.Length..].Trim())));
        lock (_gate)
        {
            if (!_byToken.TryGetValue(hash, out int id))
                throw Refuse("bad-token", StatusCode.Unauthenticated, "Unknown or replaced device token: enrol again with the secret.");
            var state = _deviceStates[id];
            if (state.TokenExpires <= DateTimeOffset.UtcNow)
                throw Refuse("expired-token", StatusCode.Unauthenticated, $"Device token expired at {state.TokenExpires:u}: enrol again with the secret.");
            return id;
        }
    }

    /// <summary>Long poll: a task as soon as the strategy gives this device one, else Wait after at most <paramref name="waitSeconds"/>.</summary>
    public async Task<V1.GetTaskReply> GetTaskAsync(int deviceId, double waitSeconds, CancellationToken ct)
    {
        TaskCompletionSource<LiveTask?> waiter;
        lock (_gate)
        {
            var device = _deviceStates[deviceId];
            bool wasOffline = !IsOnline(device, Now);
            device.LastSeen = Now;
            _store.TouchDevice(deviceId, DateTimeOffset.UtcNow);
            if (_finished) return FinishedReply();
            if (device.Task >= 0 && _live.TryGetValue(device.Task, out var current))
            {
                // Its task (again, if the reply was lost or the device restarted).
                current.Delivered = true;
                current.LastActivity = Now;
                return new V1.GetTaskReply { Task = Assignment(current) };
            }
            if (!_started)
                return new V1.GetTaskReply { Wait = new V1.Wait { RetryAfterMs = 1000, Reason = _devices.Count < _serve.MinDevices
                    ? $"waiting for {_serve.MinDevices - _devices.Count} more device(s) to enrol before training starts"
                    : "training has not started: no enrolled device can hold the strategy's training plan yet" } };
            device.Waiter?.TrySetResult(null);
            waiter = new TaskCompletionSource<LiveTask?>(TaskCreationOptions.RunContinuationsAsynchronously);
            device.Waiter = waiter;
            if (wasOffline || _wakeRequested) Wake();
            if (waiter.Task.IsCompleted) return Reply(waiter.Task.Result);
        }
        var wait = TimeSpan.FromSeconds(Math.Clamp(waitSeconds, 0, _serve.LongPoll));
        try
        {
            await waiter.Task.WaitAsync(wait, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
        }
        lock (_gate)
        {
            var device = _deviceStates[deviceId];
            if (device.Waiter == waiter) device.Waiter = null;
            device.LastSeen = Now;
            if (waiter.Task.IsCompletedSuccessfully && waiter.Task.Result is { } task)
            {
                if (ct.IsCancellationRequested)
                {
                    // The caller left: the task stays assigned and is handed over on the next poll.
                    task.Delivered = false;
                    return FinishedReply();
                }
                return Reply(task);
            }
            return _finished ? FinishedReply() : new V1.GetTaskReply { Wait = new V1.Wait { RetryAfterMs = 0, Reason = "no task yet" } };
        }

        V1.GetTaskReply Reply(LiveTask? task) => task is null
            ? (_finished ? FinishedReply() : new V1.GetTaskReply { Wait = new V1.Wait { RetryAfterMs = 0, Reason = "no task yet" } })
            : new V1.GetTaskReply { Task = Assignment(task) };
    }

    private V1.GetTaskReply FinishedReply() =>
        new() { Wait = new V1.Wait { RunFinished = true, Reason = _finishReason, RetryAfterMs = 0 } };

    private V1.TaskAssignment Assignment(LiveTask task)
    {
        var spec = task.Ticket.Spec;
        return new V1.TaskAssignment
        {
            TaskId = task.Ticket.TaskId,
            BaseVersion = task.Ticket.BaseVersion,
            Trainable = spec.TrainableKey,
            Training = Wire.ToWire(spec.Local),
            TrainableOnly = spec.Broadcast == Broadcast.TrainableOnly,
            FrozenHash = task.FrozenHash,
            Seed = Rng.Mix(_config.Seed, (ulong)task.Ticket.TaskId + 1),
            DeadlineSeconds = _serve.TaskTimeout,
            PlannedPeakBytes = task.PlannedPeak,
            Codec = spec.Masked is null ? Wire.CodecName(_codecs.For(_devices[task.Ticket.DeviceId].Tier)) : SecureWire.MaskedCodec,
            Secure = spec.Masked is { } masked ? new V1.SecureTask { RingBits = masked.WordBytes * 8 } : null,
        };
    }

    /// <summary>A chunk of a model version's payload (full, or a trainable set's part).</summary>
    public V1.ModelChunk GetModel(int deviceId, V1.GetModelRequest request)
    {
        lock (_gate)
        {
            _deviceStates[deviceId].LastSeen = Now;
            int version = request.Version < 0 ? _global.Version : request.Version;
            string trainable = request.Part == V1.ModelPart.Trainable ? request.Trainable : "";
            var (payload, sha) = Payload(version, request.Part, trainable);
            if (request.Offset < 0 || request.Offset > payload.Length)
                throw Refuse("bad-offset", StatusCode.OutOfRange, $"Offset {request.Offset} is outside the {payload.Length:N0}-byte payload of version {version}.");
            int length = (int)Math.Min(_serve.ChunkBytes, payload.Length - request.Offset);
            _bytesDown += length;
            return new V1.ModelChunk
            {
                Version = version,
                Offset = request.Offset,
                TotalBytes = payload.Length,
                Data = ByteString.CopyFrom(payload, (int)request.Offset, length),
                Sha256 = sha,
            };
        }
    }

    /// <summary>
    /// A chunk of a task's update. Chunks append at the acknowledged offset (a resent chunk is acknowledged again,
    /// a gap is refused); the last one completes the upload, which is validated, handed to the strategy and, if
    /// accepted, made durable before the reply.
    /// </summary>
    public V1.SubmitReply Submit(int deviceId, V1.UpdateChunk chunk)
    {
        lock (_gate)
        {
            _deviceStates[deviceId].LastSeen = Now;
            if (!_live.TryGetValue(chunk.TaskId, out var task))
                throw NotLive(deviceId, chunk.TaskId);
            if (task.Ticket.DeviceId != deviceId)
                throw Refuse("foreign-task", StatusCode.PermissionDenied, $"Task {chunk.TaskId} was not given to this device.");
            UpdateCodec? codec = null;
            bool masked = chunk.Codec == SecureWire.MaskedCodec;
            if (task.Ticket.Spec.Masked is not null && !masked)
                throw Refuse("not-masked", StatusCode.InvalidArgument,
                    $"Task {chunk.TaskId} is under secure aggregation: its update travels masked (codec \"{SecureWire.MaskedCodec}\"), never in the clear.");
            if (masked && task.Ticket.Spec.Masked is null)
                throw Refuse("bad-codec", StatusCode.InvalidArgument, $"Task {chunk.TaskId} is not under secure aggregation; send its update in the clear (any update codec).");
            if (!masked)
            {
                try { codec = Wire.UpdateCodecOf(chunk.Codec); }
                catch (FormatException e)
                {
                    throw Refuse("bad-codec", StatusCode.InvalidArgument, $"The update for task {chunk.TaskId} names an unknown codec: {e.Message}");
                }
            }
            // The exact size follows from the codec and the task's trainable set, so a wrong length is refused at the first chunk.
            long total = masked ? task.Ticket.Spec.Masked!.Bytes(task.Coordinates) : codec is null ? task.PayloadBytes : codec.EncodedSize(task.Coordinates);
            if (chunk.TotalBytes != total)
                throw Refuse("wrong-shape", StatusCode.InvalidArgument,
                    $"The update for task {chunk.TaskId} must be {total:N0} bytes (trainable set '{task.Ticket.Spec.TrainableKey}', {task.Coordinates:N0} values, codec {(masked ? SecureWire.MaskedCodec : codec?.Name ?? "float32")}); total_bytes says {chunk.TotalBytes:N0}.");
            if (chunk.Data.Length > _serve.ChunkBytes)
                throw Refuse("chunk-too-large", StatusCode.ResourceExhausted, $"Chunk of {chunk.Data.Length:N0} bytes exceeds the server's chunk size {_serve.ChunkBytes:N0}.");
            if (chunk.Offset < 0)
                throw Refuse("bad-offset", StatusCode.OutOfRange, $"Task {chunk.TaskId}: offset {chunk.Offset} is negative. Resume from {_store.AcknowledgedBytes(chunk.TaskId)} (send an empty chunk to ask).");
            task.LastActivity = Now;
            string codecName = masked ? SecureWire.MaskedCodec : codec?.Name ?? "float32";
            if (task.UploadCodec != codecName)
            {
                if (task.UploadCodec is not null && _store.AcknowledgedBytes(chunk.TaskId) > 0)
                {
                    if (chunk.Offset != 0)
                        throw Refuse("bad-codec", StatusCode.InvalidArgument,
                            $"Task {chunk.TaskId}: the bytes held so far are {task.UploadCodec}; this chunk says {codecName}. Resume with {task.UploadCodec}, or start again from offset 0.");
                    // A device restarted with another codec starts over: the bytes held encode what it no longer sends.
                    _store.DeleteUpload(chunk.TaskId);
                }
                task.UploadCodec = codecName;
            }
            long acknowledged;
            if (chunk.Data.IsEmpty) acknowledged = _store.AcknowledgedBytes(chunk.TaskId);
            else
            {
                try
                {
                    acknowledged = _store.AppendChunk(chunk.TaskId, chunk.Offset, chunk.Data.Span, total);
                }
                catch (StoreException e)
                {
                    throw Refuse("bad-offset", StatusCode.OutOfRange, $"Task {chunk.TaskId}: {e.Message} Resume from {_store.AcknowledgedBytes(chunk.TaskId)} (send an empty chunk to ask).");
                }
                _bytesUp += Math.Max(0, Math.Min(chunk.Offset + chunk.Data.Length, total) - Math.Max(chunk.Offset, acknowledged - chunk.Data.Length));
            }
            if (acknowledged < total)
                return new V1.SubmitReply { AcknowledgedBytes = acknowledged, Verdict = V1.Verdict.Pending, GlobalVersion = _global.Version };
            return Complete(deviceId, task, chunk, codec, total, masked);
        }
    }

    private V1.SubmitReply Complete(int deviceId, LiveTask task, V1.UpdateChunk chunk, UpdateCodec? codec, long total, bool masked)
    {
        long taskId = task.Ticket.TaskId;
        byte[] payload = _store.LoadUpload(taskId);
        if (!string.IsNullOrEmpty(chunk.Sha256) && !string.Equals(Convert.ToHexStringLower(SHA256.HashData(payload)), chunk.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            _store.DeleteUpload(taskId);
            throw Refuse("hash-mismatch", StatusCode.DataLoss, $"Task {taskId}: the reassembled update does not match its sha256; the upload was discarded, send it again from offset 0.");
        }
        var device = _devices[deviceId];
        string? problem = null;
        float[] delta = masked ? [] : new float[_global.Model.ParameterCount];
        MaskedInput? maskedInput = null;
        // Decoded into a model-length Δ first; every check below runs on what the strategy would see. A masked input
        // shows nothing but its shape (the group's session checks its round and member) and the declared metadata.
        double? updateRms = null;  // per trained value; the outlier test's history once the update is accepted
        try
        {
            if (masked) maskedInput = SecureWire.DecodeMasked(payload, task.Coordinates, task.Ticket.Spec.Masked!.WordBytes * 8);
            else if (codec is null)
            {
                _scratch.Weights.Clear();
                ParameterSerializer.DeserializeExact(_scratch, task.Ticket.Spec.Trainable, payload);
                foreach (var r in task.Ranges) _scratch.Weights.Slice(r.Offset, r.Length).CopyTo(delta.AsSpan(r.Offset));
            }
            else UpdateCompression.Decode(codec, payload, task.Ranges, delta);
        }
        catch (FormatException e)
        {
            problem = masked ? $"malformed masked input: {e.Message}" : codec is null ? $"malformed payload: {e.Message}" : $"malformed {codec.Name} payload: {e.Message}";
        }
        if (problem is null && masked)
        {
            if (chunk.Samples < 1 || chunk.Samples > device.TrainSamples)
                problem = $"samples {chunk.Samples} outside 1–{device.TrainSamples} (what the device declared at enrolment)";
        }
        else if (problem is null)
        {
            double norm2 = 0;
            foreach (var r in task.Ranges)
                for (int j = r.Offset; j < r.End; j++)
                {
                    float x = delta[j];
                    if (!float.IsFinite(x)) { problem = $"non-finite value {x} at parameter {j}"; goto done; }
                    norm2 += (double)x * x;
                }
            long count = 0;
            foreach (var r in task.Ranges) count += r.Length;
            double rms = count == 0 ? 0 : Math.Sqrt(norm2 / count);
            if (count > 0) updateRms = rms;
            if (Math.Sqrt(norm2) > _serve.MaxUpdateNorm) problem = $"update norm {Math.Sqrt(norm2):G4} exceeds the limit {_serve.MaxUpdateNorm:G4}";
            else if (OutlierScore(rms, task.Ticket.Spec.TrainableKey) is { } outlier)
                problem = outlier.Own >= OutlierHistory
                    ? $"outlier: RMS value {rms:G4} is {outlier.Z:0.#} robust standard deviations above the median of recent accepted updates of its trainable set (limit {_serve.OutlierZ:0.#})"
                    : $"outlier: RMS value {rms:G4} is {outlier.Z:0.#} robust standard deviations above the median of recent accepted updates of other trainable sets, " +
                      $"scaled to its set's ({outlier.Own} accepted so far) (limit {_serve.OutlierZ:0.#})";
            else if (chunk.Samples < 1 || chunk.Samples > device.TrainSamples)
                problem = $"samples {chunk.Samples} outside 1–{device.TrainSamples} (what the device declared at enrolment)";
            // Loss and accuracy are optional reports (NaN: not given); infinite or out-of-range values are not.
            else if (double.IsInfinity(chunk.TrainLoss)) problem = "train_loss is infinite";
            else if (!double.IsNaN(chunk.TrainAccuracy) && chunk.TrainAccuracy is < 0 or > 1) problem = $"train_accuracy {chunk.TrainAccuracy} outside 0–1";
            done:;
        }
        if (problem is not null)
        {
            // Refused before the strategy sees it: the task ends, the model never sees the values.
            End(task, TaskState.Rejected, problem);
            _store.DeleteUpload(taskId);
            _strategy.OnTaskFailed(this, new TaskFailure(task.Ticket, FailureReason.InvalidUpdate, Now, problem));
            AfterStrategy(null);
            throw Refuse(problem.StartsWith("malformed", StringComparison.Ordinal) ? "malformed" : problem.StartsWith("non-finite", StringComparison.Ordinal) ? "non-finite"
                : problem.StartsWith("update norm", StringComparison.Ordinal) ? "norm" : problem.StartsWith("outlier", StringComparison.Ordinal) ? "outlier" : "bad-metadata",
                StatusCode.InvalidArgument, $"Update for task {taskId} refused: {problem}.");
        }

        double now = Now;
        int tau = _global.Version - task.Ticket.BaseVersion;
        var update = new ClientUpdate
        {
            Task = task.Ticket,
            Delta = delta,
            BaseWeights = task.BaseWeights,
            Ranges = task.Ranges,
            Samples = chunk.Samples,
            TrainLoss = chunk.TrainLoss,
            TrainAccuracy = chunk.TrainAccuracy,
            ReceivedAt = now,
            Staleness = tau,
            Masked = maskedInput,
        };
        _live.Remove(taskId);
        _deviceStates[deviceId].Task = -1;
        var verdict = _strategy.OnUpdate(this, update);
        var state = verdict switch
        {
            UpdateVerdict.Accepted => TaskState.Accepted,
            UpdateVerdict.DroppedStale => TaskState.DroppedStale,
            UpdateVerdict.DroppedLate => TaskState.DroppedLate,
            _ => TaskState.Rejected,
        };
        // A masked input is not kept as pending: without its group's in-memory session it means nothing after a restart.
        PendingUpdate? accepted = verdict == UpdateVerdict.Accepted && !masked
            ? new PendingUpdate(taskId, deviceId, task.Ticket.BaseVersion, tau, chunk.Samples, chunk.TrainLoss, chunk.TrainAccuracy, now, task.Ticket.Spec.TrainableKey, delta)
            : null;
        // Durable before the reply. A server step first writes the version the update helped make (so a crash right
        // after loses nothing: the update is in the model); otherwise the update joins the pending buffer in the same
        // transaction that closes its task and drops its upload chunks.
        bool stepped = _commitDue;
        if (stepped) AfterStrategy(accepted);
        // The outlier test's history is stored with the verdict, so a restarted server judges the next update against it.
        var history = verdict == UpdateVerdict.Accepted && updateRms is { } value ? new UpdateRms(task.Ticket.Spec.TrainableKey, value) : null;
        _store.CompleteTask(taskId, state, null, DateTimeOffset.UtcNow, stepped ? null : accepted, history);
        if (verdict == UpdateVerdict.Accepted)
        {
            if (history is not null) Remember(history);
            _accepted++;
            _acceptTimes.Enqueue(now);
        }
        else if (verdict == UpdateVerdict.Rejected)
        {
            _refused++;
            _unsavedRefusals["strategy-rejected"] = _unsavedRefusals.GetValueOrDefault("strategy-rejected") + 1;
        }
        AfterStrategy(accepted);
        Wake();
        return new V1.SubmitReply { AcknowledgedBytes = total, Verdict = Wire.ToWire(verdict), GlobalVersion = _global.Version };
    }

    /// <summary>RMS values of the last accepted updates, per trainable set: sets differ in scale (a convolution's weights move more
    /// per value than a wide linear layer's), so after FTTE re-selects, the new set is not judged against the old one's.</summary>
    private readonly Dictionary<string, Queue<double>> _recentRms = new(StringComparer.Ordinal);

    /// <summary>Accepted updates a set needs before it is judged against its own history alone.</summary>
    private const int OutlierHistory = 20;

    /// <summary>
    /// How much larger per value a set's updates can honestly be than another set's: the per-value update RMS of single tensors
    /// of mlp, lenet and mobilenetv2-tiny differs by up to 18× (one local epoch on MNIST, at initialisation and after an epoch
    /// of training); a set mixes tensors, so two sets differ by less.
    /// </summary>
    private const double SetScaleBound = 20;

    /// <summary>
    /// The robust z-score of an update's RMS value against the last 256 accepted ones of the same trainable set: (x − median) / (1.4826·MAD),
    /// the MAD scaled to a normal standard deviation (Hampel's outlier rule), with <c>Own</c> the set's accepted updates so far.
    /// Null when the update passes, the test is off, or there is no usable history. Only the high side is refused: a tiny update
    /// cannot move the model far.
    /// <para>
    /// A set with fewer than <see cref="OutlierHistory"/> accepted updates (FTTE just re-selected, or a rarely trained nested
    /// level) borrows the history of the sets that have them. Every value is divided by its own set's median, so sets compare
    /// as multiples of their typical size, and so is the update: by the median of its set's accepted updates or, with none
    /// yet, by <see cref="SetScaleBound"/> × the largest median of the other sets — the largest scale the set can honestly have,
    /// so that a set whose updates are larger than the old ones' is not locked out, while one far above it is refused.
    /// </para>
    /// </summary>
    private (double Z, int Own)? OutlierScore(double rms, string trainable)
    {
        if (_serve.OutlierZ <= 0) return null;
        _recentRms.TryGetValue(trainable, out var own);
        int count = own?.Count ?? 0;
        if (count >= OutlierHistory) return RobustZ(rms, [.. own!]) is { } z ? (z, count) : null;

        var normalised = new List<double>();
        double largest = 0;
        foreach (var (key, recent) in _recentRms)
        {
            if (key == trainable || recent.Count < OutlierHistory) continue;
            double median = Median([.. recent]);
            if (median <= 0) continue;
            largest = Math.Max(largest, median);
            foreach (double v in recent) normalised.Add(v / median);
        }
        if (normalised.Count == 0) return null;
        double scale = count > 0 ? Median([.. own!]) : 0;
        if (scale > 0) foreach (double v in own!) normalised.Add(v / scale);
        else scale = SetScaleBound * largest;
        return RobustZ(rms / scale, [.. normalised]) is { } borrowed ? (borrowed, count) : null;
    }

    /// <summary>The robust z-score of <paramref name="x"/> against <paramref name="reference"/> when above the limit, else null.</summary>
    private double? RobustZ(double x, double[] reference)
    {
        Array.Sort(reference);
        double median = reference[reference.Length / 2];
        var deviations = reference.Select(v => Math.Abs(v - median)).Order().ToArray();
        double scale = 1.4826 * deviations[deviations.Length / 2];
        // A floor for buffers of near-identical updates (MAD ≈ 0): then only values above ~3× the median (at z = 8) are refused.
        scale = Math.Max(scale, Math.Max(0.25 * median, 1e-12));
        double z = (x - median) / scale;
        return z > _serve.OutlierZ ? z : null;
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        return values[values.Length / 2];
    }

    private void Remember(UpdateRms rms)
    {
        if (!_recentRms.TryGetValue(rms.Trainable, out var recent))
            _recentRms[rms.Trainable] = recent = new Queue<double>();
        recent.Enqueue(rms.Value);
        while (recent.Count > ServerStore.RmsHistory) recent.Dequeue();
    }

    /// <summary>Liveness, and task progress or abandonment.</summary>
    /// <summary>
    /// One step of a secure task's SecAgg exchange: takes the device's answer to the last message (and its readiness),
    /// then returns the next message for it, long-polling up to <see cref="V1.SecAggRequest.WaitSeconds"/>.
    /// </summary>
    public async Task<V1.SecAggReply> SecureAggregationAsync(int deviceId, V1.SecAggRequest request, CancellationToken ct)
    {
        SecureMailboxes.Mailbox box;
        Task signal;
        lock (_gate)
        {
            _deviceStates[deviceId].LastSeen = Now;
            if (_finished) return new V1.SecAggReply { Wait = new V1.Wait { RunFinished = true, Reason = _finishReason } };
            var groups = _strategy.SecureAggregation
                ?? throw Refuse("not-secure", StatusCode.FailedPrecondition, $"This run ({_strategy.Name}) does not use secure aggregation; no task has a SecAgg exchange.");
            long taskId = request.TaskId;
            if (!_mailboxes.TryGet(taskId, out box))
            {
                if (_live.TryGetValue(taskId, out var live) && live.Ticket.DeviceId == deviceId && live.Ticket.Spec.Masked is not null)
                    box = _mailboxes.Open(taskId, deviceId);
                else
                {
                    var stored = _store.LoadTask(taskId);
                    if (stored is null) throw Refuse("unknown-task", StatusCode.NotFound, $"No task {taskId}.");
                    if (stored.DeviceId != deviceId) throw Refuse("foreign-task", StatusCode.PermissionDenied, $"Task {taskId} was not given to this device.");
                    return new V1.SecAggReply { Done = new V1.SecAggDone { Detail = $"task {taskId} has no secure exchange going on (it is over, or was never secure)" } };
                }
            }
            if (box.DeviceId != deviceId) throw Refuse("foreign-task", StatusCode.PermissionDenied, $"Task {taskId} was not given to this device.");
            if (_live.TryGetValue(taskId, out var task)) task.LastActivity = Now;
            _bytesUp += request.CalculateSize();
            try
            {
                switch (request.AnswerCase)
                {
                    case V1.SecAggRequest.AnswerOneofCase.Advertise: groups.Receive(this, taskId, SecureWire.FromWire(request.Advertise)); break;
                    case V1.SecAggRequest.AnswerOneofCase.ShareKeys: groups.Receive(this, taskId, SecureWire.FromWire(request.ShareKeys)); break;
                    case V1.SecAggRequest.AnswerOneofCase.Unmask: groups.Receive(this, taskId, SecureWire.FromWire(request.Unmask)); break;
                }
                if (request.Ready) groups.Ready(this, taskId);
            }
            catch (SecAggException e)
            {
                AfterStrategy(null);
                throw Refuse("secagg", StatusCode.InvalidArgument, $"Task {taskId}: {e.Message}");
            }
            AfterStrategy(null);
            if (TakeMessage(taskId, box, request.Ack) is { } now) return now;
            signal = box.NextSignal();
        }
        try
        {
            await signal.WaitAsync(TimeSpan.FromSeconds(Math.Clamp(request.WaitSeconds, 0, _serve.LongPoll)), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
        }
        lock (_gate)
        {
            if (TakeMessage(request.TaskId, box, request.Ack) is { } later) return later;
            return new V1.SecAggReply { Wait = new V1.Wait { RunFinished = _finished, Reason = _finished ? _finishReason : "nothing for this task yet" } };
        }
    }

    private V1.SecAggReply? TakeMessage(long taskId, SecureMailboxes.Mailbox box, long ack)
    {
        if (box.Next(ack) is not { } reply) return null;
        // Done is the last word: a device that misses it hears "no secure exchange going on" (also Done) next time.
        if (reply.MessageCase == V1.SecAggReply.MessageOneofCase.Done) _mailboxes.Remove(taskId);
        _bytesDown += reply.CalculateSize();
        return reply;
    }

    public V1.HeartbeatReply Heartbeat(int deviceId, V1.HeartbeatRequest request)
    {
        lock (_gate)
        {
            var device = _deviceStates[deviceId];
            device.LastSeen = Now;
            _store.TouchDevice(deviceId, DateTimeOffset.UtcNow);
            if (request.TaskId == 0) return new V1.HeartbeatReply { GlobalVersion = _global.Version };
            if (!_live.TryGetValue(request.TaskId, out var task) || task.Ticket.DeviceId != deviceId)
            {
                var stored = _store.LoadTask(request.TaskId);
                if (stored is null || stored.DeviceId != deviceId)
                    throw Refuse("foreign-task", StatusCode.PermissionDenied, $"Task {request.TaskId} was not given to this device.");
                return new V1.HeartbeatReply { TaskCancelled = true, GlobalVersion = _global.Version };
            }
            task.LastActivity = Now;
            if (!string.IsNullOrWhiteSpace(request.AbandonReason))
            {
                string reason = request.AbandonReason.Length > 500 ? request.AbandonReason[..500] : request.AbandonReason;
                End(task, TaskState.Failed, "device gave it up: " + reason);
                _store.DeleteUpload(task.Ticket.TaskId);
                _strategy.OnTaskFailed(this, new TaskFailure(task.Ticket, FailureReason.Refused, Now, reason));
                AfterStrategy(null);
                return new V1.HeartbeatReply { TaskCancelled = true, GlobalVersion = _global.Version };
            }
            return new V1.HeartbeatReply { GlobalVersion = _global.Version };
        }
    }

    /// <summary>The evaluated versions so far (time since the run was created, accuracy, counters), as stored.</summary>
    public IReadOnlyList<StoredMetric> Metrics()
    {
        lock (_gate) return _disposed ? [] : _store.LoadMetrics();
    }

    /// <summary>
    /// The metrics as CSV (time_s, version, test_accuracy, test_loss, updates_accepted, updates_refused, bytes_down,
    /// bytes_up, devices_online, epsilon — empty without DP): the deployed run's curve, to set beside a simulated run's metrics.csv.
    /// </summary>
    public static void WriteMetricsCsv(TextWriter writer, IEnumerable<StoredMetric> metrics)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        writer.WriteLine("time_s,version,test_accuracy,test_loss,updates_accepted,updates_refused,bytes_down,bytes_up,devices_online,epsilon");
        foreach (var m in metrics)
            writer.WriteLine(string.Create(inv, $"{m.Time:0.###},{m.Version},{m.TestAccuracy:0.#####},{m.TestLoss:0.#####},{m.UpdatesAccepted},{m.UpdatesRefused},{m.BytesDown},{m.BytesUp},{m.DevicesOnline},{(double.IsNaN(m.Epsilon) ? "" : m.Epsilon.ToString("0.#####", inv))}"));
    }

    public V1.StatusReply Status()
    {
        lock (_gate)
        {
            double now = Now;
            while (_acceptTimes.Count > 0 && _acceptTimes.Peek() < now - 60) _acceptTimes.Dequeue();
            double window = Math.Min(60, Math.Max(1, _uptime.Elapsed.TotalSeconds));
            var reply = new V1.StatusReply
            {
                RunId = _run.RunId,
                Strategy = _strategy.Name,
                Version = _global.Version,
                TestAccuracy = _lastAccuracy,
                EvaluatedVersion = _evaluatedVersion,
                DevicesEnrolled = _devices.Count,
                DevicesOnline = _deviceStates.Count(d => IsOnline(d, now)),
                TasksInFlight = _live.Count,
                UpdatesAccepted = _accepted,
                UpdatesRefused = _refused,
                UpdatesPerSecond = _acceptTimes.Count / window,
                BytesDown = _bytesDown,
                BytesUp = _bytesUp,
                UptimeSeconds = now,
                Finished = _finished,
                TargetAccuracy = _serve.TargetAccuracy,
                TimeToTargetSeconds = _timeToTarget,
                Epsilon = _strategy.PrivacySpent?.Epsilon ?? double.NaN,
                EpsilonPerDevice = _strategy.PrivacyPerDevice?.Epsilon ?? double.NaN,
                Delta = _strategy.PrivacySpent?.Delta ?? 0,
                StopReason = _finished ? _finishReason : "",
            };
            FlushRefusals();
            foreach (var (reason, count) in _store.Refusals()) reply.Refusals[reason] = count;
            return reply;
        }
    }

    // ---- internals ------------------------------------------------------------------------------

    private void StartStrategy()
    {
        _started = true;
        _log($"Starting {_strategy.Name} with {_devices.Count} device(s).");
        try
        {
            _strategy.Start(this);
        }
        catch (InvalidOperationException e)
        {
            // E.g. no enrolled device can hold the strategy's training plan: not fatal, more devices may come.
            _started = false;
            _log($"Cannot start yet: {e.Message} Waiting for more devices.");
            return;
        }
        // The strategy's own state as of the last stored version (the DP accountant: released steps stay counted; FTTE's
        // step count and re-selection). At the first start, its initial state goes with the resolved config (FTTE's budget
        // and configured batch, which a re-selection after a restart before the first step must search with).
        string? saved = _store.LoadLatestStrategyState();
        // At the first start, the server resolved what the config left open (FTTE's trainable set and batch): store it, so
        // that a restart trains the same set instead of re-running the search on trained weights. With reselectAfter that is
        // the first choice, trained until the re-selection; the re-selection itself travels in the strategy's state.
        string? resolved = null;
        if (_strategy is Federation.Strategies.FtteStrategy ftte && saved is null)
        {
            var strategy = _config.Strategy;
            var local = _config.Local;
            if (strategy.Trainable is null)
            {
                var level = ftte.Levels[0];
                // Explicit, since a fixed set alone would mean no re-selection (StrategyConfig.EffectiveReselectAfter).
                strategy = strategy with { Trainable = level.TrainableKey, ReselectAfter = ftte.Options.ReselectAfter ?? 0 };
                local = local with { Batch = level.Local.BatchSize };
            }
            // The contribution metric the search measured with, or a re-selection will: explicit too, so that after a restart
            // under a version with another default the run still re-selects as it started.
            if (strategy.ContributionMetric is null && ftte.Options.Selection == Federation.Selection.SelectionMethod.Search
                && (_config.Strategy.Trainable is null || ftte.Options.ReselectAfter is > 0))
                strategy = strategy with { ContributionMetric = Federation.Config.StrategyConfig.DefaultContributionMetric };
            // The re-selection margin likewise, where checks run.
            if (strategy.ReselectMargin is null && ftte.Options.ReselectAfter is > 0)
                strategy = strategy with { ReselectMargin = ftte.Options.ReselectMargin };
            if (!ReferenceEquals(strategy, _config.Strategy)) resolved = StrictJson.Serialize(_config with { Strategy = strategy, Local = local });
        }
        _store.SaveStart(_global.Version, resolved, saved is null ? _strategy.SaveState() : null);
        if (saved is not null) _strategy.RestoreState(saved);
        foreach (string note in _strategy.Notes) _log(note);
        var pending = _store.LoadPending();
        if (pending.Count > 0)
        {
            var updates = new List<ClientUpdate>(pending.Count);
            foreach (var p in pending)
            {
                var spec = new TaskSpec(TrainableSet.Parse(_global.Model, p.Trainable), _config.Local.ToLocalTraining());
                updates.Add(new ClientUpdate
                {
                    Task = new TaskTicket(p.TaskId, p.DeviceId, p.BaseVersion, p.ReceivedAt, spec),
                    Delta = p.Delta,
                    BaseWeights = _store.LoadVersion(p.BaseVersion) ?? _global.Weights.ToArray(),
                    Ranges = Shape(spec).Ranges,
                    Samples = p.Samples,
                    TrainLoss = p.TrainLoss,
                    TrainAccuracy = p.TrainAccuracy,
                    ReceivedAt = p.ReceivedAt,
                    Staleness = p.Staleness,
                });
            }
            _strategy.Restore(this, updates);
            _log($"Restored {updates.Count} accepted update(s) into {_strategy.Name}'s buffer.");
        }
        AfterStrategy(null);
    }

    /// <summary>After every strategy call: persist a server step if there was one, evaluate when due, check the stop rules.</summary>
    private void AfterStrategy(PendingUpdate? acceptedNow)
    {
        if (_commitDue)
        {
            _commitDue = false;
            _store.CommitVersion(_global.Version, _global.Weights, DateTimeOffset.UtcNow, acceptedNow, _serve.KeepVersions, _strategy.SaveState());
            _snapshots.Remove(_global.Version);
            if (_serve.MaxVersions is { } max && _global.Version >= max) Finish($"reached version {max}");
            MaybeEvaluate();
        }
        if (_strategy.StopReason is { } reason) Finish(reason);
    }

    private void Wake()
    {
        if (!_wakeRequested || !_started || _finished) return;
        _wakeRequested = false;
        _strategy.OnDevicesAvailable(this);
        AfterStrategy(null);
    }

    private void End(LiveTask task, TaskState state, string detail)
    {
        _live.Remove(task.Ticket.TaskId);
        _deviceStates[task.Ticket.DeviceId].Task = -1;
        _store.SetTaskState(task.Ticket.TaskId, state, detail, DateTimeOffset.UtcNow);
    }

    private RpcException NotLive(int deviceId, long taskId)
    {
        var stored = _store.LoadTask(taskId);
        if (stored is null) return Refuse("unknown-task", StatusCode.NotFound, $"No task {taskId}.");
        if (stored.DeviceId != deviceId) return Refuse("foreign-task", StatusCode.PermissionDenied, $"Task {taskId} was not given to this device.");
        return stored.State switch
        {
            TaskState.Accepted or TaskState.DroppedStale or TaskState.DroppedLate or TaskState.Rejected or TaskState.Delivered =>
                Refuse("replay", StatusCode.AlreadyExists, $"An update for task {taskId} was already submitted ({stored.State}); a task takes one update (replay refused)."),
            // Not bad input: the task ended on the server's side first. Answered, not counted as a refusal.
            TaskState.Cancelled => new RpcException(StatusCode.FailedPrecondition, $"Task {taskId} was cancelled ({stored.Detail}); its update is not needed, poll for a new task."),
            TaskState.Expired => new RpcException(StatusCode.FailedPrecondition, $"Task {taskId} expired ({stored.Detail}); poll for a new task."),
            _ => new RpcException(StatusCode.FailedPrecondition, $"Task {taskId} has ended ({stored.State}: {stored.Detail}); poll for a new task."),
        };
    }

    /// <summary>Counts a refusal by reason and makes the status error for the caller.</summary>
    private RpcException Refuse(string reason, StatusCode code, string message)
    {
        CountRefusal(reason);
        return new RpcException(code, message);
    }

    /// <summary>
    /// Counts a refused call (also those the transport refused before they reached the core: over-size, malformed,
    /// unknown method). Counted in memory and written once a second, so a flood of bad calls costs no disk syncs.
    /// </summary>
    internal void CountRefusal(string reason)
    {
        lock (_gate)
        {
            _unsavedRefusals[reason] = _unsavedRefusals.GetValueOrDefault(reason) + 1;
            _refused++;
        }
    }

    private void FlushRefusals()
    {
        if (_unsavedRefusals.Count == 0 || _disposed) return;
        _store.CountRefusals(_unsavedRefusals);
        _unsavedRefusals.Clear();
    }

    /// <summary>Once a second: expire silent tasks, evaluate a version that has waited, end the run on time.</summary>
    private void Sweep()
    {
        lock (_gate)
        {
            if (_disposed) return;
            if (_finished)
            {
                FlushRefusals();
                if (Now - _finishedAt >= _serve.FinishGrace) _completion.TrySetResult();
                return;
            }
            FlushRefusals();
            _store.FlushTouches();
            if (!_started) return;
            double now = Now;
            foreach (var task in _live.Values.Where(t => now - t.LastActivity > _serve.TaskTimeout).ToList())
            {
                End(task, TaskState.Expired, $"no word from the device for {_serve.TaskTimeout:0} s");
                _store.DeleteUpload(task.Ticket.TaskId);
                _strategy.OnTaskFailed(this, new TaskFailure(task.Ticket, FailureReason.Expired, now));
                AfterStrategy(null);
            }
            if (_serve.MaxTime is { } maxTime && now >= maxTime) Finish($"reached the time limit of {maxTime:0} s");
            else
            {
                MaybeEvaluate();
                Wake();
            }
        }
    }

    private void MaybeEvaluate()
    {
        if (_evalRunning || _evaluatedVersion == _global.Version || Now - _lastEvalAt < _serve.EvalEvery) return;
        _evalRunning = true;
        _lastEvalAt = Now;
        int version = _global.Version;
        var weights = _global.Weights.ToArray();
        _ = Task.Run(() =>
        {
            StepResult result;
            try
            {
                weights.CopyTo(_evalModel.Weights);
                result = _evaluator.Evaluate(_evalSet);
            }
            catch (Exception e)
            {
                _log($"Evaluation of version {version} failed: {e.Message}");
                lock (_gate) _evalRunning = false;
                return;
            }
            lock (_gate)
            {
                if (_disposed) return;
                _evalRunning = false;
                _evaluatedVersion = version;
                _lastAccuracy = result.Accuracy;
                double now = Now;
                _store.AddMetric(new StoredMetric(now, version, result.Accuracy, result.Loss, _accepted, _refused, _bytesDown, _bytesUp,
                    _deviceStates.Count(d => IsOnline(d, now))) { Epsilon = _strategy.PrivacySpent?.Epsilon ?? double.NaN });
                string privacy = _strategy.PrivacySpent is { } spent ? $", ε = {spent.Epsilon:0.###} at δ = {spent.Delta:0.#e0}" : "";
                _log($"t={now:F0}s version {version}: test accuracy {result.Accuracy:P2} ({_accepted} updates accepted{privacy})");
                if (result.Accuracy >= _serve.TargetAccuracy && _timeToTarget == 0)
                {
                    _timeToTarget = now;
                    _log($"Target accuracy {_serve.TargetAccuracy:P0} reached at t={now:F0}s (version {version}).");
                    if (_serve.StopAtTarget) Finish($"reached the target accuracy {_serve.TargetAccuracy:P0}");
                }
            }
        });
    }

    private bool CheckFinished()
    {
        if (_serve.StopAtTarget && _timeToTarget > 0) Finish("the stored run had reached its target accuracy");
        else if (_serve.MaxVersions is { } max && _global.Version >= max) Finish($"the stored run had reached version {max}");
        return _finished;
    }

    private void Finish(string reason)
    {
        if (_finished) return;
        _finished = true;
        _finishedAt = Now;
        _finishReason = "run finished: " + reason;
        _log($"Run {_run.RunId} finished: {reason}. Version {_global.Version}, {_accepted} updates accepted, {_refused} refused.");
        foreach (var task in _live.Values.ToList())
        {
            End(task, TaskState.Cancelled, "run finished");
        }
        foreach (var d in _deviceStates)
        {
            d.Waiter?.TrySetResult(null);
            d.Waiter = null;
        }
        _mailboxes.WakeAll();
        FlushRefusals();
        _store.FlushTouches();
        if (_serve.FinishGrace == 0) _completion.TrySetResult();
    }

    private bool IsOnline(DeviceState d, double now) => d.Waiter is not null || now - d.LastSeen <= _serve.OnlineWindow;

    private float[] Snapshot()
    {
        int v = _global.Version;
        if (!_snapshots.TryGetValue(v, out var weights))
        {
            // One immutable copy per dispatched version, shared by its tasks; older ones go when no live task uses them.
            weights = _global.Weights.ToArray();
            _snapshots[v] = weights;
            var used = _live.Values.Select(t => t.Ticket.BaseVersion).ToHashSet();
            foreach (int old in _snapshots.Keys.Where(k => k != v && !used.Contains(k)).ToList()) _snapshots.Remove(old);
        }
        return weights;
    }

    private (WeightRange[] Ranges, long Bytes, long Peak) Shape(TaskSpec spec)
    {
        string key = $"{spec.TrainableKey}|{spec.Local.BatchSize}|{spec.Local.Optimizer}";
        if (_shapes.TryGetValue(key, out var shape)) return shape;
        var model = _global.Model;
        var plan = MemoryPlanner.PlanTraining(model, spec.Trainable, spec.Local.BatchSize, spec.Local.Optimizer);
        shape = (spec.Trainable.Ranges(model), ParameterSerializer.SerializedSize(model, spec.Trainable), plan.PeakBytes);
        _shapes[key] = shape;
        return shape;
    }

    private (byte[] Payload, string Sha) Payload(int version, V1.ModelPart part, string trainable)
    {
        var key = (version, part, trainable);
        if (_payloads.TryGetValue(key, out var cached)) return cached;
        float[]? weights = version == _global.Version ? _global.Weights.ToArray()
            : _snapshots.TryGetValue(version, out var snap) ? snap
            : _store.LoadVersion(version);
        if (weights is null)
            throw Refuse("unknown-version", StatusCode.NotFound, $"Model version {version} is not kept (current {_global.Version}); ask for version -1.");
        TrainableSet? subset = null;
        if (part == V1.ModelPart.Trainable)
        {
            try { subset = TrainableSet.Parse(_scratch, trainable); }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw Refuse("bad-trainable", StatusCode.InvalidArgument, $"Trainable set '{trainable}': {e.Message}");
            }
        }
        else if (part != V1.ModelPart.Full) throw Refuse("bad-part", StatusCode.InvalidArgument, $"Unknown model part {part}.");
        weights.CopyTo(_scratch.Weights);
        var payload = ParameterSerializer.Serialize(_scratch, subset);
        var entry = (payload, Convert.ToHexStringLower(SHA256.HashData(payload)));
        _payloads[key] = entry;
        _payloadOrder.Enqueue(key);
        while (_payloadOrder.Count > 16) _payloads.Remove(_payloadOrder.Dequeue());
        return entry;
    }

    public void Dispose()
    {
        _sweep.Dispose();
        lock (_gate)
        {
            if (_disposed) return;
            FlushRefusals();
            _disposed = true;
            foreach (var t in _timers) t.Dispose();
            foreach (var d in _deviceStates) d.Waiter?.TrySetResult(null);
            _store.Dispose();
        }
    }
}
