using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Planning;
using Ftte.Federation.Compression;
using Ftte.Protocol;
using Google.Protobuf;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Client;

/// <summary>
/// Makes one process behave like a slower device, so one machine can host a testbed of mixed capabilities:
/// training takes at least planned FLOPs / <see cref="FlopsPerSecond"/>, transfers at least bytes·8 / bandwidth.
/// </summary>
public sealed record Throttle(double? FlopsPerSecond = null, double? DownlinkBitsPerSecond = null, double? UplinkBitsPerSecond = null)
{
    /// <summary>Parses "flops=2e8,down=1e6,up=5e5" (any subset; numbers in FLOP/s and bit/s).</summary>
    public static Throttle Parse(string text)
    {
        var t = new Throttle();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2 || !double.TryParse(kv[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) || !(v > 0))
                throw new FormatException($"Throttle setting '{part}' is not key=positive-number; expected e.g. flops=2e8,down=1e6,up=5e5.");
            t = kv[0] switch
            {
                "flops" => t with { FlopsPerSecond = v },
                "down" => t with { DownlinkBitsPerSecond = v },
                "up" => t with { UplinkBitsPerSecond = v },
                _ => throw new FormatException($"Unknown throttle key '{kv[0]}'; expected flops, down or up."),
            };
        }
        return t;
    }
}

/// <summary>Who the device says it is and how it connects.</summary>
public sealed record DeviceOptions
{
    public required Uri Server { get; init; }
    /// <summary>The federation's enrolment secret.</summary>
    public required string Secret { get; init; }
    /// <summary>Stable device name: re-enrolling under it keeps the device id.</summary>
    public required string Name { get; init; }
    /// <summary>Memory available for training; a task whose plan needs more is refused with the reason.</summary>
    public required long MemoryBytes { get; init; }
    /// <summary>Declared compute; absent: the throttle's, else measured by a short calibration at start.</summary>
    public double? FlopsPerSecond { get; init; }
    public double DownlinkBitsPerSecond { get; init; } = 100e6;
    public double UplinkBitsPerSecond { get; init; } = 50e6;
    public double LatencySeconds { get; init; } = 0.01;
    public string Tier { get; init; } = "device";
    public Throttle? Throttle { get; init; }
    /// <summary>For https servers with a self-signed certificate (ftte certs dev): the certificate to trust.</summary>
    public X509Certificate2? TrustedCertificate { get; init; }
    public TimeSpan LongPoll { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>Longest wait between reconnection attempts (exponential backoff with jitter up to this).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Stop (with that reason) after the server has been unreachable this long; a restart within it is waited out.</summary>
    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromMinutes(10);
    public ulong Seed { get; init; } = 1;
    /// <summary>
    /// How updates travel: null (the default) sends with the codec each task asks for (the server's <c>server.codec</c>),
    /// a codec here overrides it (e.g. q8 on a slow uplink). Float32 is the parameter format. Stochastic rounding draws
    /// from the task's seed, so an update encodes the same way every time; top-k sends through an error-feedback
    /// residual kept by this client (in memory: a restarted device starts from a zero residual).
    /// </summary>
    public UpdateCodec? Codec { get; init; }
    public Action<string>? Log { get; init; }
    /// <summary>On-device validation hooks run before an update is sent (<see cref="UpdateChecks"/>, or any delegate); a failing one withholds it.</summary>
    public IReadOnlyList<UpdateCheck> Checks { get; init; } = UpdateChecks.Defaults;
}

/// <summary>What a device did over its run.</summary>
/// <param name="Withheld">Updates an on-device check did not let through (never sent).</param>
public sealed record DeviceSummary(int DeviceId, int Tasks, int Accepted, int Dropped, int Refused, int Abandoned, int Reconnects, long BytesDown, long BytesUp, string EndReason,
    int Withheld = 0);

/// <summary>
/// A device in a real federation: enrols, long-polls for tasks, fetches the model (the full model on first
/// contact, then only the trainable part while its cached frozen part still matches the server's hash),
/// trains with an <see cref="ILocalTrainer"/>, and uploads Δ in chunks that resume from the last acknowledged
/// byte. Transport failures and server restarts are waited out with exponential backoff; the run ends when the
/// server says so.
/// </summary>
public sealed class DeviceClient : IDisposable
{
    private readonly DeviceOptions _o;
    private readonly GrpcChannel _channel;
    private readonly Rng _jitter;
    private readonly Action<string> _log;
    private string _token = "";
    private V1.EnrolReply? _enrolment;
    private Model? _model;          // the architecture, holding the cached full weights of the last download
    private Model? _scratch;        // serializes Δ
    private readonly ErrorFeedback _feedback = new(); // top-k's residual; follows the trainable set (ErrorFeedback remaps it)
    private string? _cachedFrozen;  // frozen-part hash of _model's weights for the last trainable set
    private string? _cachedTrainable;
    private double? _measuredFlops;
    private int _withheld;
    private int _tasks, _accepted, _dropped, _refused, _abandoned, _reconnects;
    private long _bytesDown, _bytesUp;
    /// <summary>Secure tasks' exchanges still going on (the unmasking round outlives the upload).</summary>
    private readonly List<(Task Run, SecureExchange Exchange, CancellationTokenSource Cts)> _exchanges = [];

    public DeviceClient(DeviceOptions options)
    {
        _o = options;
        _channel = new GrpcChannel(options.Server, new GrpcChannelOptions { TrustedCertificate = options.TrustedCertificate });
        _jitter = new Rng(options.Seed);
        _log = options.Log ?? (_ => { });
    }

    public int DeviceId => _enrolment?.DeviceId ?? -1;

    /// <summary>Runs until the server ends the run (or <paramref name="ct"/> is cancelled).</summary>
    public async Task<DeviceSummary> RunAsync(ILocalTrainer trainer, CancellationToken ct = default)
    {
        var backoff = TimeSpan.Zero;
        long? unreachableSince = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                if (_enrolment is null) await EnrolAsync(trainer, ct).ConfigureAwait(false);
                var reply = await _channel.CallAsync(FederationMethods.GetTask, new V1.GetTaskRequest { WaitSeconds = (int)_o.LongPoll.TotalSeconds },
                    V1.GetTaskReply.Parser, _token, _o.LongPoll + TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
                backoff = TimeSpan.Zero;
                unreachableSince = null;
                if (reply.Wait is { } wait)
                {
                    if (wait.RunFinished)
                    {
                        await DrainExchangesAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                        return Summary(wait.Reason);
                    }
                    if (wait.RetryAfterMs > 0) await Task.Delay(wait.RetryAfterMs, ct).ConfigureAwait(false);
                    continue;
                }
                await RunTaskAsync(reply.Task, trainer, ct).ConfigureAwait(false);
                await DrainExchangesAsync(TimeSpan.Zero).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.Status == StatusCode.Unauthenticated && _enrolment is not null)
            {
                // Token expired or replaced: enrol again (same name, same id).
                _log($"Token refused ({e.Message}); enrolling again.");
                _enrolment = null;
            }
            catch (RpcException e) when (Transient(e.Status))
            {
                unreachableSince ??= Stopwatch.GetTimestamp();
                if (Stopwatch.GetElapsedTime(unreachableSince.Value) > _o.GiveUpAfter)
                    return Summary($"gave up: the server has been unreachable for {_o.GiveUpAfter.TotalMinutes:0.#} min ({e.Message})");
                _reconnects++;
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _o.MaxBackoff.Ticks));
                var delay = TimeSpan.FromTicks((long)(backoff.Ticks * (0.5 + 0.5 * _jitter.NextDouble())));
                _log($"{e.Status}: {e.Message} — retrying in {delay.TotalSeconds:F1} s.");
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
        }
    }

    private static bool Transient(StatusCode s) => s is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown or StatusCode.Aborted;

    private async Task EnrolAsync(ILocalTrainer trainer, CancellationToken ct)
    {
        // Declared compute: as given, else the throttle's, else measured here once (engine training of a small MLP).
        _measuredFlops ??= _o.FlopsPerSecond ?? _o.Throttle?.FlopsPerSecond ?? Calibration.MeasureTrainingFlops();
        double flops = _measuredFlops.Value;
        var request = new V1.EnrolRequest
        {
            Secret = _o.Secret,
            DeviceName = _o.Name,
            Capabilities = new V1.Capabilities
            {
                MemoryBytes = _o.MemoryBytes,
                FlopsPerSecond = flops,
                DownlinkBitsPerSecond = _o.Throttle?.DownlinkBitsPerSecond ?? _o.DownlinkBitsPerSecond,
                UplinkBitsPerSecond = _o.Throttle?.UplinkBitsPerSecond ?? _o.UplinkBitsPerSecond,
                LatencySeconds = _o.LatencySeconds,
                TrainSamples = trainer.Samples,
                Tier = _o.Tier,
            },
        };
        _enrolment = await _channel.CallAsync(FederationMethods.Enrol, request, V1.EnrolReply.Parser, null, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        _token = _enrolment.Token;
        var m = _enrolment.Model;
        if (_model is null)
        {
            _model = ModelSource.Load(m.Spec, 0, new Shape([.. m.InputShape]), m.Classes);
            if (_model.ParameterCount != m.ParameterCount)
                throw new InvalidOperationException($"Model '{m.Spec}' built here has {_model.ParameterCount:N0} parameters; the server's has {m.ParameterCount:N0}. Update this client.");
            _scratch = _model.Clone();
        }
        _log($"Enrolled as device {_enrolment.DeviceId} in run {_enrolment.RunId} ({m.Spec}, {m.ParameterCount:N0} parameters).");
    }

    private async Task RunTaskAsync(V1.TaskAssignment a, ILocalTrainer trainer, CancellationToken ct)
    {
        _tasks++;
        var model = _model!;
        TrainableSet set;
        Federation.LocalTraining settings;
        try
        {
            set = TrainableSet.Parse(model, a.Trainable);
            settings = Wire.FromWire(a.Training);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or RpcException)
        {
            await AbandonAsync(a.TaskId, $"cannot read the task: {e.Message}", ct).ConfigureAwait(false);
            return;
        }
        var plan = MemoryPlanner.PlanTraining(model, set, settings.BatchSize, settings.Optimizer);
        // Top-k's error-feedback residual stays resident while the device trains.
        var codec = a.Secure is null ? CodecFor(a) : null;
        long resident = codec?.ResidentBytes(UpdateCompression.CountOf(set.Ranges(model))) ?? 0;
        if (plan.PeakBytes + resident > _o.MemoryBytes)
        {
            string needs = resident == 0 ? ByteSize.Format(plan.PeakBytes) : $"{ByteSize.Format(plan.PeakBytes)} and the codec's residual {ByteSize.Format(resident)}";
            await AbandonAsync(a.TaskId, $"plan needs {needs}, device has {ByteSize.Format(_o.MemoryBytes)}", ct).ConfigureAwait(false);
            return;
        }

        var ranges = set.Ranges(model);
        await FetchBaseAsync(a, set, ranges, ct).ConfigureAwait(false);
        var baseWeights = model.Weights.ToArray();

        // Secure aggregation: the key exchange runs beside training; it outlives the upload (the unmasking round).
        var exchangeCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        SecureExchange? exchange = null;
        if (a.Secure is not null)
        {
            exchange = new SecureExchange(_channel, () => _token, a.TaskId, TimeSpan.FromSeconds(Math.Clamp(_o.LongPoll.TotalSeconds, 1, 10)), _log);
            _exchanges.Add((exchange.RunAsync(exchangeCts.Token), exchange, exchangeCts));
        }
        else exchangeCts.Dispose();

        using var taskCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var heartbeat = HeartbeatLoopAsync(a, taskCts);
        LocalUpdate update;
        var watch = Stopwatch.StartNew();
        try
        {
            update = await trainer.TrainAsync(new TrainingRequest(a.TaskId, a.BaseVersion, model, baseWeights, set, ranges, settings, a.Seed), taskCts.Token).ConfigureAwait(false);
            if (_o.Throttle?.FlopsPerSecond is { } f)
            {
                double seconds = (double)plan.TrainingFlopsPerSample * update.Samples * settings.Epochs / f;
                await DelayRemaining(watch, seconds, taskCts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            _dropped++;
            _log($"Task {a.TaskId} was cancelled by the server.");
            if (exchange is not null) await exchangeCts.CancelAsync().ConfigureAwait(false);
            return;
        }
        finally
        {
            taskCts.Cancel();
            try { await heartbeat.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        if (update.Delta.Length != model.ParameterCount)
        {
            if (exchange is not null) await exchangeCts.CancelAsync().ConfigureAwait(false);
            await AbandonAsync(a.TaskId, $"the local trainer returned {update.Delta.Length} values for a {model.ParameterCount}-parameter model", ct).ConfigureAwait(false);
            return;
        }
        var context = new UpdateCheckContext(new TrainingRequest(a.TaskId, a.BaseVersion, model, baseWeights, set, ranges, settings, a.Seed),
            update, update.ValidationBefore, update.ValidationAfter);
        foreach (var check in _o.Checks)
        {
            if (check(context) is not { } problem) continue;
            _withheld++;
            _abandoned--; // counted as withheld, not as a memory refusal
            if (exchange is not null) await exchangeCts.CancelAsync().ConfigureAwait(false);
            await AbandonAsync(a.TaskId, "on-device validation: " + problem, ct).ConfigureAwait(false);
            return;
        }
        if (exchange is not null)
        {
            // Only the masked form leaves the device: the trained coordinates, clipped/weighted/noised as the server's
            // plan says, encoded, masked — after the group's key exchange, which may still be going on.
            var values = new float[UpdateCompression.CountOf(ranges)];
            UpdateCompression.Gather(update.Delta, ranges, values);
            var masked = await exchange.MaskAsync(values, ct).ConfigureAwait(false);
            if (masked is null)
            {
                _dropped++;
                _log($"Task {a.TaskId}: left its secure aggregation group before masking ({exchange.Ended}); the update is not sent.");
                return;
            }
            await UploadAsync(a, SecureWire.EncodeMasked(masked, a.Secure!.RingBits), SecureWire.MaskedCodec, update, ct).ConfigureAwait(false);
            return;
        }
        byte[] payload;
        if (codec is null)
        {
            // Δ travels as a parameter payload of the trainable set (the scratch model holds Δ as its weights).
            update.Delta.CopyTo(_scratch!.Weights);
            payload = ParameterSerializer.Serialize(_scratch, set);
        }
        else payload = UpdateCompression.Encode(codec, update.Delta, ranges, UpdateCompression.EncodingRng(a.Seed), codec.UsesErrorFeedback ? _feedback : null);
        await UploadAsync(a, payload, Wire.CodecName(codec), update, ct).ConfigureAwait(false);
    }

    /// <summary>The codec of this task's update: the device's own choice, else the task's; null for the parameter format.</summary>
    private UpdateCodec? CodecFor(V1.TaskAssignment a)
    {
        if (_o.Codec is { } own) return own.Kind == CodecKind.Float32 ? null : own;
        try { return Wire.UpdateCodecOf(a.Codec); }
        catch (FormatException e)
        {
            // A newer server's codec this client does not know: the parameter format is always accepted.
            _log($"Task {a.TaskId} asks for codec '{a.Codec}', unknown here ({e.Message}); sending float32.");
            return null;
        }
    }

    /// <summary>Brings <see cref="_model"/> to the task's base weights: the trainable part only when the cached frozen part still matches.</summary>
    private async Task FetchBaseAsync(V1.TaskAssignment a, TrainableSet set, WeightRange[] ranges, CancellationToken ct)
    {
        var model = _model!;
        bool cached = a.TrainableOnly && _cachedFrozen == a.FrozenHash && _cachedTrainable == a.Trainable && !string.IsNullOrEmpty(a.FrozenHash);
        if (cached)
        {
            var part = await DownloadAsync(a.BaseVersion, V1.ModelPart.Trainable, a.Trainable, ct).ConfigureAwait(false);
            ParameterSerializer.DeserializeExact(model, set, part);
            return;
        }
        var full = await DownloadAsync(a.BaseVersion, V1.ModelPart.Full, "", ct).ConfigureAwait(false);
        ParameterSerializer.DeserializeExact(model, null, full);
        if (a.TrainableOnly)
        {
            _cachedFrozen = Wire.FrozenHash(model.Weights, ranges);
            _cachedTrainable = a.Trainable;
            if (_cachedFrozen != a.FrozenHash)
                _log($"Frozen part of version {a.BaseVersion} hashes to {_cachedFrozen[..12]}…, the server said {a.FrozenHash[..Math.Min(12, a.FrozenHash.Length)]}…; it will be downloaded again next task.");
        }
    }

    private async Task<byte[]> DownloadAsync(int version, V1.ModelPart part, string trainable, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        byte[]? buffer = null;
        string sha = "";
        long offset = 0, total = long.MaxValue;
        while (offset < total)
        {
            var chunk = await _channel.CallAsync(FederationMethods.GetModel, new V1.GetModelRequest { Version = version, Part = part, Trainable = trainable, Offset = offset },
                V1.ModelChunk.Parser, _token, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
            if (buffer is null)
            {
                total = chunk.TotalBytes;
                if (total is < 0 or > int.MaxValue) throw new RpcException(StatusCode.Internal, $"Model payload of {total} bytes is not acceptable.");
                buffer = new byte[total];
                sha = chunk.Sha256;
            }
            if (chunk.Offset != offset || chunk.TotalBytes != total || chunk.Data.Length == 0 && offset < total)
                throw new RpcException(StatusCode.Internal, $"Model chunk at {chunk.Offset} (total {chunk.TotalBytes}) does not continue offset {offset} of {total}.");
            chunk.Data.Span.CopyTo(buffer.AsSpan((int)offset));
            offset += chunk.Data.Length;
            _bytesDown += chunk.Data.Length;
        }
        buffer ??= [];
        if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(buffer)), sha, StringComparison.OrdinalIgnoreCase))
            throw new RpcException(StatusCode.DataLoss, $"Model version {version} failed its sha256 check after reassembly; retrying.");
        if (_o.Throttle?.DownlinkBitsPerSecond is { } down) await DelayRemaining(watch, buffer.Length * 8.0 / down, ct).ConfigureAwait(false);
        return buffer;
    }

    private async Task UploadAsync(V1.TaskAssignment a, byte[] payload, string codec, LocalUpdate update, CancellationToken ct)
    {
        string sha = Convert.ToHexStringLower(SHA256.HashData(payload));
        int chunkBytes = Math.Max(1024, _enrolment!.ChunkBytes);
        long offset = 0;
        int failures = 0;
        while (true)
        {
            var watch = Stopwatch.StartNew();
            int length = (int)Math.Min(chunkBytes, payload.Length - offset);
            var chunk = new V1.UpdateChunk
            {
                TaskId = a.TaskId, Offset = offset, TotalBytes = payload.Length, Sha256 = sha, Codec = codec,
                Data = ByteString.CopyFrom(payload, (int)offset, length),
                Samples = update.Samples, TrainLoss = update.Loss, TrainAccuracy = update.Accuracy,
            };
            V1.SubmitReply reply;
            try
            {
                reply = await _channel.CallAsync(FederationMethods.SubmitUpdate, chunk, V1.SubmitReply.Parser, _token, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
                if (_o.Throttle?.UplinkBitsPerSecond is { } up) await DelayRemaining(watch, length * 8.0 / up, ct).ConfigureAwait(false);
                _bytesUp += length;
            }
            catch (RpcException e) when (Transient(e.Status) && ++failures <= 20)
            {
                // Interrupted: wait, then ask the server how much it holds and resume from there.
                _reconnects++;
                _log($"Task {a.TaskId}: upload interrupted ({e.Status}: {e.Message}); retry {failures} of 20.");
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(10_000, 250 << Math.Min(failures, 6))), ct).ConfigureAwait(false);
                try
                {
                    var ask = await _channel.CallAsync(FederationMethods.SubmitUpdate, new V1.UpdateChunk { TaskId = a.TaskId, Offset = 0, TotalBytes = payload.Length, Sha256 = sha, Samples = update.Samples, Codec = codec },
                        V1.SubmitReply.Parser, _token, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
                    offset = ask.AcknowledgedBytes;
                    _log($"Task {a.TaskId}: resuming upload at byte {offset:N0} of {payload.Length:N0}.");
                }
                catch (RpcException again) when (Transient(again.Status)) { }
                catch (RpcException again) { Outcome(a.TaskId, again); return; }
                continue;
            }
            catch (RpcException e) when (e.Status != StatusCode.Unauthenticated && !Transient(e.Status))
            {
                Outcome(a.TaskId, e);
                return;
            }
            offset = reply.AcknowledgedBytes;
            if (reply.Verdict == V1.Verdict.Pending) continue;
            switch (reply.Verdict)
            {
                case V1.Verdict.Accepted: _accepted++; break;
                case V1.Verdict.Rejected: _refused++; break;
                default: _dropped++; break;
            }
            _log($"Task {a.TaskId}: {reply.Verdict} (global version {reply.GlobalVersion}; {ByteSize.Format(payload.Length)} up, {(codec.Length == 0 ? "float32" : codec)}).");
            return;
        }
    }

    /// <summary>The server will not take this update (task expired, cancelled, replay, invalid): count it and poll on.</summary>
    private void Outcome(long taskId, RpcException e)
    {
        if (e.Status == StatusCode.InvalidArgument) _refused++;
        else _dropped++;
        _log($"Task {taskId}: update not taken — {e.Status}: {e.Message}");
    }

    private async Task HeartbeatLoopAsync(V1.TaskAssignment a, CancellationTokenSource taskCts)
    {
        // Often enough that a device hears within seconds that its task was cancelled or the run ended (the server keeps
        // answering for server.finishGrace after the end, 10 s by default).
        var every = TimeSpan.FromSeconds(Math.Clamp(a.DeadlineSeconds / 3, 1, 3));
        while (!taskCts.IsCancellationRequested)
        {
            await Task.Delay(every, taskCts.Token).ConfigureAwait(false);
            try
            {
                var reply = await _channel.CallAsync(FederationMethods.Heartbeat, new V1.HeartbeatRequest { TaskId = a.TaskId }, V1.HeartbeatReply.Parser, _token, TimeSpan.FromSeconds(10), taskCts.Token).ConfigureAwait(false);
                if (reply.TaskCancelled) { await taskCts.CancelAsync().ConfigureAwait(false); return; }
            }
            catch (RpcException) { /* the upload will tell; keep training */ }
        }
    }

    private async Task AbandonAsync(long taskId, string reason, CancellationToken ct)
    {
        _abandoned++;
        _log($"Task {taskId} refused: {reason}.");
        await _channel.CallAsync(FederationMethods.Heartbeat, new V1.HeartbeatRequest { TaskId = taskId, AbandonReason = reason }, V1.HeartbeatReply.Parser, _token, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
    }

    private static Task DelayRemaining(Stopwatch watch, double seconds, CancellationToken ct)
    {
        var remaining = TimeSpan.FromSeconds(seconds) - watch.Elapsed;
        return remaining > TimeSpan.Zero ? Task.Delay(remaining, ct) : Task.CompletedTask;
    }

    /// <summary>Collects secure exchanges that have ended (all of them, after at most <paramref name="wait"/>, when the run is over).</summary>
    private async Task DrainExchangesAsync(TimeSpan wait)
    {
        for (int i = _exchanges.Count - 1; i >= 0; i--)
        {
            var (run, exchange, cts) = _exchanges[i];
            if (!run.IsCompleted)
            {
                if (wait == TimeSpan.Zero) continue;
                try { await run.WaitAsync(wait).ConfigureAwait(false); }
                catch (TimeoutException) { await cts.CancelAsync().ConfigureAwait(false); }
                try { await run.ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
            _bytesDown += exchange.BytesDown;
            _bytesUp += exchange.BytesUp;
            exchange.Dispose();
            cts.Dispose();
            _exchanges.RemoveAt(i);
        }
    }

    private DeviceSummary Summary(string reason) =>
        new(DeviceId, _tasks, _accepted, _dropped, _refused, _abandoned, _reconnects, _bytesDown, _bytesUp, reason, _withheld);

    public void Dispose() => _channel.Dispose();
}
