using System.Diagnostics;
using Ftte.Core;
using Ftte.Data;
using Ftte.Engine;
using Ftte.Engine.Planning;
using Ftte.Engine.Training;
using Ftte.Federation;
using Ftte.Federation.Compression;
using Ftte.Reporting;
using Ftte.Simulation.Clock;
using Ftte.Simulation.Execution;
using Ftte.Simulation.Fleet;

namespace Ftte.Simulation;

/// <summary>
/// The fleet simulator: a discrete-event loop over a virtual clock that drives one <see cref="Strategy"/>
/// through <see cref="IFederationHost"/>. Devices are records; every task really trains the engine on the
/// device's partition (on worker threads), while its virtual duration comes from <see cref="TaskTimes"/>.
/// Because a task's duration, dropout and result are fixed when it is dispatched, training can run ahead
/// in parallel while the loop consumes results strictly in virtual-time order: the run is a pure function
/// of the setup and the seed, whatever the number of workers.
/// </summary>
public sealed class Simulator
{
    private readonly IReadOnlyList<DeviceProfile> _devices;
    private readonly Partition _partition;
    private readonly Model _initial;
    private readonly DatasetView _evalSet;
    private readonly SimulationOptions _options;
    private readonly DeviceInfo[] _infos;

    /// <param name="devices">The fleet; device d holds partition device d.</param>
    /// <param name="partition">Each device's local data.</param>
    /// <param name="testSet">Server-side evaluation data.</param>
    /// <param name="model">Initial global model (every run starts from a copy of these weights).</param>
    public Simulator(IReadOnlyList<DeviceProfile> devices, Partition partition, Dataset testSet, Model model, SimulationOptions options)
    {
        options.Validate();
        if (devices.Count != partition.DeviceCount)
            throw new ArgumentException($"The fleet has {devices.Count} devices but the partition has {partition.DeviceCount}; partition the data over the fleet's devices.");
        for (int i = 0; i < devices.Count; i++)
            if (devices[i].Id != i) throw new ArgumentException($"Device at position {i} has id {devices[i].Id}; ids must be 0..N−1 in order.");
        if (testSet.SampleSize != model.InputShape.Size)
            throw new ArgumentException($"Test samples have {testSet.SampleSize} values but model '{model.Name}' takes {model.InputShape.Size}.");
        _devices = devices;
        _partition = partition;
        _initial = model;
        _options = options;
        _infos = new DeviceInfo[devices.Count];
        for (int i = 0; i < devices.Count; i++) _infos[i] = devices[i].ToInfo(partition.TrainIndices(i).Length);
        _evalSet = testSet.SeededSubset(options.EvalSamples, Dataset.EvaluationSeed(options.Seed));
    }

    public SimulationOptions Options => _options;
    /// <summary>Test samples each evaluation uses.</summary>
    public int EvaluationSamples => _evalSet.Count;
    public IReadOnlyList<DeviceInfo> Devices => _infos;

    /// <summary>Runs one strategy from the initial model to a stop condition.</summary>
    /// <param name="compression">The codecs devices upload with (by tier). Null: Δ travels uncompressed, as float32 in the
    /// engine's parameter format. With a policy a task's upload is that payload with its values replaced by the codec's
    /// encoding of the trained coordinates, and the strategy receives what the server decodes.</param>
    public RunResult Run(Strategy strategy, Action<SimulationProgress>? progress = null, CodecPolicy? compression = null)
    {
        using var run = new RunState(this, strategy, progress, compression);
        return run.Execute();
    }

    /// <summary>Per-task state while it is in flight.</summary>
    private sealed class ActiveTask
    {
        public required TaskTicket Ticket;
        public required TaskTimes Times;
        public required long BytesDown;
        public required long BytesUp;
        public TrainingJob? Job;
        public bool Downloaded;
        /// <summary>Bytes of this download that are the frozen part (partial broadcast): first contact, or again after it changed.</summary>
        public long FirstContactBytes;
        /// <summary>The frozen part this download brings (trainable key and hash of the frozen weights), cached when it completes.</summary>
        public string? FrozenKey;
    }

    /// <summary>Cached per task shape: its plan, payload sizes and the number of trained coordinates.</summary>
    private sealed record TaskCost(MemoryPlan Plan, long TrainableBytes, long FullBytes, long UploadBytes, int TrainedCount, WeightRange[] Ranges)
    {
        /// <summary>
        /// The upload with <paramref name="codec"/>: the parameter format's payload (tensor names, shapes, channel
        /// lists) with its float32 values replaced by the codec's encoding of the trained coordinates.
        /// </summary>
        public long UploadWith(UpdateCodec? codec) =>
            codec is null ? UploadBytes : UploadBytes - 4L * TrainedCount + codec.EncodedSize(TrainedCount);
    }

    /// <summary>One strategy's run: the host the strategy talks to, and the loop.</summary>
    private sealed class RunState : IFederationHost, IDisposable
    {
        private readonly Simulator _sim;
        private readonly Strategy _strategy;
        private readonly Action<SimulationProgress>? _progress;
        private readonly SimulationOptions _o;
        private readonly GlobalModel _global;
        private readonly Evaluator _evaluator;
        private readonly TaskTrainer _trainer;
        private readonly EventQueue _queue = new();
        private readonly Dictionary<long, ActiveTask> _active = [];
        private readonly Dictionary<(string, int, OptimizerOptions), TaskCost> _costs = [];

        // Devices as arrays of plain values: a 10,000-device fleet stays a few hundred kilobytes.
        private readonly long[] _busyTask;
        private readonly AvailabilityTimeline?[] _timelines;
        private readonly AvailabilityTimeline?[] _accounting;
        private readonly double[] _onlineSeconds;
        private readonly double[] _busySeconds;
        private readonly bool[] _contributed;
        private readonly int[] _tasksPerDevice;
        /// <summary>Each device's cached frozen part (see <see cref="FrozenKey"/>); one per device, as a real device keeps.</summary>
        private readonly string?[] _frozenCached;
        /// <summary>Per trainable key: the global version its frozen hash was computed at, and the hash.</summary>
        private readonly Dictionary<string, (int Version, ulong Hash)> _frozenHash = [];
        /// <summary>Each device's update codec; null when updates travel uncompressed.</summary>
        private readonly UpdateCodec[]? _codecs;
        /// <summary>
        /// Each device's error-feedback residual (codecs that use it): device state, replaced by the copy a task worked on
        /// when that task's update is delivered, so it evolves in virtual-time order whatever the workers do.
        /// </summary>
        private readonly ErrorFeedback?[] _feedback;

        private readonly List<MetricsPoint> _points = [];
        private readonly long[] _staleness;
        private readonly Dictionary<string, long> _tierPeak = [];
        private readonly Stopwatch _wall = Stopwatch.StartNew();
        private readonly long _totalSamples;

        private double _now;
        private long _nextTaskId;
        private float[]? _snapshot;
        private int _snapshotVersion = -1;
        private bool _wakeRequested;
        private bool _freed;
        private double _wakeAt = double.PositiveInfinity;
        private double _lastEval = double.NegativeInfinity;
        private double _lastAccounting;
        private long _firstContactBytes;
        private long _received, _accepted, _dropped, _stale, _failed, _bytesDown, _bytesUp, _tasks;
        private long _contributedSamples;
        private int _contributedDevices;
        private double _completedBusy;
        private double _evalSeconds, _waitSeconds;
        private bool _stop;
        private bool _evalDue;
        private readonly List<string> _notes = [];

        public RunState(Simulator sim, Strategy strategy, Action<SimulationProgress>? progress, CodecPolicy? compression)
        {
            _sim = sim;
            _strategy = strategy;
            _progress = progress;
            _o = sim._options;
            _global = new GlobalModel(sim._initial.Clone());
            sim._initial.Weights.CopyTo(_global.Weights);
            _evaluator = new Evaluator(_global.Model);
            _trainer = new TaskTrainer(_global.Model, _o.Workers);
            int n = sim._devices.Count;
            _busyTask = new long[n];
            Array.Fill(_busyTask, -1L);
            _timelines = new AvailabilityTimeline?[n];
            _accounting = new AvailabilityTimeline?[n];
            _onlineSeconds = new double[n];
            _busySeconds = new double[n];
            _contributed = new bool[n];
            _tasksPerDevice = new int[n];
            _frozenCached = new string?[n];
            _codecs = compression is null ? null : [.. sim._devices.Select(d => compression.For(d.Tier))];
            _feedback = new ErrorFeedback?[_codecs?.Any(c => c.UsesErrorFeedback) == true ? n : 0];
            _staleness = new long[_o.StalenessBuckets];
            foreach (var d in sim._devices)
            {
                if (d.Availability.Kind == AvailabilityKind.Always) continue;
                ulong seed = DeviceFleet.TimelineSeed(_o.Seed, d.Id);
                _timelines[d.Id] = new AvailabilityTimeline(d.Availability, seed);
                _accounting[d.Id] = new AvailabilityTimeline(d.Availability, seed);
            }
            foreach (var info in sim._infos) _totalSamples += info.TrainSamples;
        }

        // ---- IFederationHost ------------------------------------------------------------------

        public double Now => _now;
        public GlobalModel Global => _global;
        public IReadOnlyList<DeviceInfo> Devices => _sim._infos;
        public int InFlight => _active.Count;

        public void IdleDevices(List<int> into)
        {
            into.Clear();
            for (int d = 0; d < _busyTask.Length; d++)
                if (_busyTask[d] < 0 && IsOnline(d, _now)) into.Add(d);
        }

        public TaskTicket Dispatch(int deviceId, TaskSpec spec)
        {
            if ((uint)deviceId >= (uint)_busyTask.Length)
                throw new ArgumentOutOfRangeException(nameof(deviceId), deviceId, $"No device {deviceId}; the fleet has {_busyTask.Length}.");
            if (_busyTask[deviceId] >= 0)
                throw new InvalidOperationException($"{_strategy.Name} dispatched to device {deviceId}, which is busy with task {_busyTask[deviceId]}.");
            if (!IsOnline(deviceId, _now))
                throw new InvalidOperationException($"{_strategy.Name} dispatched to device {deviceId}, which is offline at t={_now:F1}s.");

            var device = _sim._devices[deviceId];
            var cost = Cost(spec);
            var ticket = new TaskTicket(_nextTaskId++, deviceId, _global.Version, _now, spec);
            _busyTask[deviceId] = ticket.TaskId;
            _tasks++;
            _tasksPerDevice[deviceId]++;
            // Top-k's residual stays in the device's memory while it trains: the task needs the plan plus it.
            long resident = spec.Masked is null ? _codecs?[deviceId]?.ResidentBytes(cost.TrainedCount) ?? 0 : 0;
            long peak = cost.Plan.PeakBytes + resident;
            _tierPeak[device.Tier] = Math.Max(_tierPeak.GetValueOrDefault(device.Tier), peak);

            if (!_o.IgnoreMemory && peak > device.MemoryBytes)
            {
                // A real device refuses a task whose plan does not fit; it costs a round trip.
                var refused = new ActiveTask { Ticket = ticket, Times = new TaskTimes(device.LatencySeconds, 0, 0, 0), BytesDown = 0, BytesUp = 0 };
                _active[ticket.TaskId] = refused;
                _queue.Schedule(_now + device.LatencySeconds, EventKind.Failed, ticket.TaskId);
                _failReason[ticket.TaskId] = (FailureReason.Refused, resident == 0
                    ? $"plan needs {ByteSize.Format(peak)}, device has {ByteSize.Format(device.MemoryBytes)}"
                    : $"plan needs {ByteSize.Format(cost.Plan.PeakBytes)} and the codec's residual {ByteSize.Format(resident)}, device has {ByteSize.Format(device.MemoryBytes)}");
                return ticket;
            }

            long down = cost.FullBytes, firstContact = 0;
            if (spec.Broadcast == Broadcast.TrainableOnly)
            {
                // The frozen part is cached on the device once its download completes, keyed as a real device keys it: by
                // the trainable set and the hash of the frozen weights. Whatever changes them (a nested level training more,
                // a re-selection) makes devices download the full model again, and that is counted.
                string frozen = FrozenKey(spec, cost);
                bool cached = _frozenCached[deviceId] == frozen;
                down = cached ? cost.TrainableBytes : cost.FullBytes;
                firstContact = cached ? 0 : cost.FullBytes - cost.TrainableBytes;
            }
            int samples = _sim._infos[deviceId].TrainSamples;
            double flops = (double)cost.Plan.TrainingFlopsPerSample * samples * spec.Local.Epochs;
            var codec = _codecs?[deviceId];
            long up;
            if (spec.Masked is { } masked)
            {
                // Secure aggregation: masks fill the ring, so what travels is one masked word per trained value.
                if (codec is not null && codec.Name != "float32")
                    throw new InvalidOperationException(
                        $"{_strategy.Name} masks its updates (secureAggregation), but compression gives device {deviceId} the codec '{codec.Name}': " +
                        "masked words cannot be compressed. Map this strategy to float32 under compression.strategies, and quantise with secureAggregation.valueBits.");
                codec = null;
                up = masked.Bytes(cost.TrainedCount);
            }
            else up = cost.UploadWith(codec);
            var times = TaskTimes.For(device, down, flops, up);
            var task = new ActiveTask { Ticket = ticket, Times = times, BytesDown = down, BytesUp = up, FirstContactBytes = firstContact,
                FrozenKey = firstContact > 0 ? FrozenKey(spec, cost) : null };
            _active[ticket.TaskId] = task;

            // Fate is drawn at dispatch from the task's own stream: a dropout at a uniform point of the task, or
            // going offline if the availability window closes first.
            var fate = Rng.ForStream(_o.Seed, (ulong)ticket.TaskId);
            double end = _now + times.Total;
            double failAt = double.PositiveInfinity;
            var reason = FailureReason.Dropout;
            if (fate.NextDouble() < device.DropoutProbability) failAt = _now + fate.NextDouble() * times.Total;
            if (_timelines[deviceId] is { } timeline)
            {
                double off = timeline.NextChange(_now);
                if (off < end && off < failAt) { failAt = off; reason = FailureReason.WentOffline; }
            }

            if (_now + times.DownloadDone <= failAt) _queue.Schedule(_now + times.DownloadDone, EventKind.DownloadDone, ticket.TaskId);
            if (_now + times.TrainingDone <= failAt) _queue.Schedule(_now + times.TrainingDone, EventKind.TrainingDone, ticket.TaskId);
            if (failAt < end)
            {
                _failReason[ticket.TaskId] = (reason, null);
                _queue.Schedule(failAt, EventKind.Failed, ticket.TaskId);
                return ticket;
            }
            _queue.Schedule(end, EventKind.UploadDone, ticket.TaskId);
            task.Job = new TrainingJob(ticket, Snapshot(), _sim._partition.Train(deviceId), Rng.Mix(_o.Seed, (ulong)ticket.TaskId + 1))
            {
                Codec = codec,
                // The task encodes through a copy of the device's residual; Deliver makes it the device's own.
                Feedback = codec is { UsesErrorFeedback: true } ? _feedback[deviceId]?.Clone() ?? new ErrorFeedback() : null,
            };
            _trainer.Submit(task.Job);
            return ticket;
        }

        private readonly Dictionary<long, (FailureReason Reason, string? Detail)> _failReason = [];

        public void Cancel(long taskId)
        {
            if (!_active.Remove(taskId, out var task)) return;
            if (task.Job is { } job) job.Cancelled = true;
            _failReason.Remove(taskId);
            CountPartialDownload(task);
            EndTask(task);
            _failed++;
        }

        public void AddTraffic(int deviceId, long bytesDown, long bytesUp)
        {
            if (bytesDown < 0 || bytesUp < 0) throw new ArgumentOutOfRangeException(nameof(bytesDown), "Traffic is counted in non-negative bytes.");
            _bytesDown += bytesDown;
            _bytesUp += bytesUp;
        }

        public void SetTimer(double delaySeconds, int tag)
        {
            if (!(delaySeconds >= 0)) throw new ArgumentOutOfRangeException(nameof(delaySeconds), delaySeconds, "A timer delay must be ≥ 0 seconds.");
            _queue.Schedule(_now + delaySeconds, EventKind.Timer, tag);
        }

        public void WaitForDevices()
        {
            _wakeRequested = true;
            // The earliest time an idle, offline device comes online; devices that free up wake us too.
            double next = double.PositiveInfinity;
            for (int d = 0; d < _busyTask.Length; d++)
            {
                if (_busyTask[d] >= 0 || _timelines[d] is not { } t || t.IsOnline(_now)) continue;
                next = Math.Min(next, t.NextChange(_now));
            }
            if (next < _wakeAt && !double.IsPositiveInfinity(next))
            {
                _wakeAt = next;
                _queue.Schedule(next, EventKind.Wake);
            }
        }

        public void Commit(int updatesMerged)
        {
            _global.Advance();
            // Evaluated once the event is handled, so the point counts the update(s) that made this version.
            _evalDue = true;
        }

        // ---- the loop -------------------------------------------------------------------------

        public RunResult Execute()
        {
            _strategy.Start(this);
            Evaluate();
            while (!_stop && _queue.TryPeekTime(out double time))
            {
                if (time > _o.MaxSeconds) break;
                var e = _queue.Dequeue();
                _now = e.Time;
                Handle(e);
                if (_wakeRequested && _freed)
                {
                    _wakeRequested = false;
                    _strategy.OnDevicesAvailable(this);
                }
                _freed = false;
                if (_evalDue)
                {
                    _evalDue = false;
                    if (_now - _lastEval >= _o.EvalEverySeconds) Evaluate();
                }
                if (_o.MaxVersions is { } maxVersions && _global.Version >= maxVersions) _stop = true;
                if (!_stop && _strategy.StopReason is { } reason)
                {
                    _stop = true;
                    _notes.Add($"Stopped at t={_now:F0}s: {reason}.");
                }
            }
            if (!_stop)
            {
                if (_queue.Count == 0 && _now < _o.MaxSeconds)
                    _notes.Add($"Stopped at t={_now:F0}s: no more events (no device could take a task).");
                else
                    _now = _o.MaxSeconds;
            }
            if (_tasks == 0) _notes.Add($"No task was dispatched in {_now:F0}s: no device the strategy could use was online.");
            if (_points.Count == 0 || _points[^1].Version != _global.Version || _points[^1].Time < _now) Evaluate();
            foreach (var task in _active.Values)
                if (task.Job is { } job) job.Cancelled = true;
            return Result();
        }

        private void Handle(SimEvent e)
        {
            switch (e.Kind)
            {
                case EventKind.DownloadDone:
                    if (_active.TryGetValue(e.Task, out var downloading))
                    {
                        downloading.Downloaded = true;
                        _bytesDown += downloading.BytesDown;
                        if (downloading.FirstContactBytes > 0)
                        {
                            _firstContactBytes += downloading.FirstContactBytes;
                            _frozenCached[downloading.Ticket.DeviceId] = downloading.FrozenKey;
                        }
                    }
                    break;
                case EventKind.TrainingDone:
                    break; // Marks the phase on the timeline; the upload is already scheduled.
                case EventKind.UploadDone:
                    if (_active.Remove(e.Task, out var done)) Deliver(done);
                    break;
                case EventKind.Failed:
                    if (_active.Remove(e.Task, out var failed))
                    {
                        var (reason, detail) = _failReason[e.Task];
                        _failReason.Remove(e.Task);
                        CountPartialDownload(failed);
                        EndTask(failed);
                        _failed++;
                        _strategy.OnTaskFailed(this, new TaskFailure(failed.Ticket, reason, _now, detail));
                    }
                    break;
                case EventKind.Timer:
                    _strategy.OnTimer(this, (int)e.Task);
                    break;
                case EventKind.Wake:
                    if (_now >= _wakeAt) _wakeAt = double.PositiveInfinity;
                    _freed = true;
                    break;
            }
        }

        private void Deliver(ActiveTask task)
        {
            _bytesUp += task.BytesUp;
            long waitStart = Stopwatch.GetTimestamp();
            var outcome = task.Job!.Result.GetAwaiter().GetResult();
            _waitSeconds += Stopwatch.GetElapsedTime(waitStart).TotalSeconds;
            EndTask(task);
            _received++;
            if (task.Job.Feedback is { } feedback) _feedback[task.Ticket.DeviceId] = feedback;
            int tau = _global.Version - task.Ticket.BaseVersion;
            var update = new ClientUpdate
            {
                Task = task.Ticket,
                Delta = outcome.Delta,
                BaseWeights = task.Job.BaseWeights,
                Ranges = outcome.Ranges,
                Samples = _sim._infos[task.Ticket.DeviceId].TrainSamples,
                TrainLoss = outcome.Result.MeanLoss,
                TrainAccuracy = outcome.Result.Accuracy,
                ReceivedAt = _now,
                Staleness = tau,
            };
            switch (_strategy.OnUpdate(this, update))
            {
                case UpdateVerdict.Accepted:
                    _accepted++;
                    _staleness[Math.Min(tau, _staleness.Length - 1)]++;
                    int d = task.Ticket.DeviceId;
                    if (!_contributed[d])
                    {
                        _contributed[d] = true;
                        _contributedDevices++;
                        _contributedSamples += _sim._infos[d].TrainSamples;
                    }
                    break;
                case UpdateVerdict.DroppedStale: _stale++; break;
                default: _dropped++; break;
            }
        }

        private void CountPartialDownload(ActiveTask task)
        {
            if (task.Downloaded || task.Times.Download <= 0) return;
            // Bytes that crossed the link before the task ended.
            double fraction = Math.Clamp((_now - task.Ticket.DispatchedAt - task.Times.Latency) / task.Times.Download, 0, 1);
            _bytesDown += (long)(task.BytesDown * fraction);
        }

        private void EndTask(ActiveTask task)
        {
            int d = task.Ticket.DeviceId;
            double busy = _now - task.Ticket.DispatchedAt;
            _busySeconds[d] += busy;
            _completedBusy += busy;
            _busyTask[d] = -1;
            _freed = true;
        }

        private bool IsOnline(int device, double t) => _timelines[device] is not { } timeline || timeline.IsOnline(t);

        private float[] Snapshot()
        {
            if (_snapshotVersion != _global.Version || _snapshot is null)
            {
                // One immutable copy per dispatched version, shared by its tasks (and kept alive only by them).
                _snapshot = _global.Weights.ToArray();
                _snapshotVersion = _global.Version;
            }
            return _snapshot;
        }

        /// <summary>The trainable key and an FNV-1a hash of the global weights outside its ranges, computed once per version.</summary>
        private string FrozenKey(TaskSpec spec, TaskCost cost)
        {
            if (!_frozenHash.TryGetValue(spec.TrainableKey, out var known) || known.Version != _global.Version)
            {
                ulong h = 14695981039346656037UL;
                var w = _global.Weights;
                int from = 0;
                foreach (var r in cost.Ranges.Append(new WeightRange(w.Length, 0)))
                {
                    for (int j = from; j < r.Offset; j++) { h ^= BitConverter.SingleToUInt32Bits(w[j]); h *= 1099511628211UL; }
                    from = Math.Max(from, r.End);
                }
                known = (_global.Version, h);
                _frozenHash[spec.TrainableKey] = known;
            }
            return $"{spec.TrainableKey}#{known.Hash:x16}";
        }

        private TaskCost Cost(TaskSpec spec)
        {
            var key = (spec.TrainableKey, spec.Local.BatchSize, spec.Local.Optimizer);
            if (_costs.TryGetValue(key, out var cost)) return cost;
            var model = _global.Model;
            var plan = MemoryPlanner.PlanTraining(model, spec.Trainable, spec.Local.BatchSize, spec.Local.Optimizer);
            long trainable = ParameterSerializer.SerializedSize(model, spec.Trainable);
            var ranges = spec.Trainable.Ranges(model).OrderBy(r => r.Offset).ToArray();
            cost = new TaskCost(plan, trainable, ParameterSerializer.SerializedSize(model), trainable, spec.Trainable.CountTrained(model), ranges);
            _costs[key] = cost;
            return cost;
        }

        // ---- measurement ----------------------------------------------------------------------

        private void Evaluate()
        {
            long start = Stopwatch.GetTimestamp();
            _evalDue = false;
            var r = _evaluator.Evaluate(_sim._evalSet);
            _evalSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
            _lastEval = _now;
            AccountOnline();
            double busy = _completedBusy;
            foreach (var t in _active.Values) busy += _now - t.Ticket.DispatchedAt;
            double online = 0;
            foreach (double s in _onlineSeconds) online += s;
            _points.Add(new MetricsPoint
            {
                Time = _now,
                Version = _global.Version,
                TestAccuracy = r.Accuracy,
                TestLoss = r.Loss,
                UpdatesReceived = _received,
                UpdatesAccepted = _accepted,
                UpdatesDropped = _dropped,
                UpdatesStale = _stale,
                TasksFailed = _failed,
                BytesDown = _bytesDown,
                BytesUp = _bytesUp,
                DevicesContributed = _contributedDevices,
                DataShareContributed = _totalSamples == 0 ? 0 : (double)_contributedSamples / _totalSamples,
                DeviceBusySeconds = busy,
                DeviceIdleSeconds = Math.Max(0, online - busy),
                StalenessHistogram = (long[])_staleness.Clone(),
                WallSeconds = _wall.Elapsed.TotalSeconds,
                Epsilon = _strategy.PrivacySpent?.Epsilon ?? double.NaN,
            });
            if (r.Accuracy >= _o.TargetAccuracy && _o.StopAtTarget) _stop = true;
            _progress?.Invoke(new SimulationProgress(_strategy.Name, _now, _o.MaxSeconds, _global.Version, r.Accuracy)
            {
                WallSeconds = _wall.Elapsed.TotalSeconds,
                TrainingSeconds = _trainer.TrainingSeconds,
                TrainingSamples = _trainer.TrainingSamples,
                EvaluationSeconds = _evalSeconds,
            });
        }

        /// <summary>Adds each device's online time since the last accounting (availability timelines are queried forwards only).</summary>
        private void AccountOnline()
        {
            double from = _lastAccounting, to = _now;
            if (to <= from) return;
            for (int d = 0; d < _onlineSeconds.Length; d++)
                _onlineSeconds[d] += _accounting[d] is { } t ? t.OnlineSeconds(from, to) : to - from;
            _lastAccounting = to;
        }

        private RunResult Result()
        {
            var last = _points[^1];
            double? toTarget = _points.FirstOrDefault(p => p.TestAccuracy >= _o.TargetAccuracy)?.Time;
            var p = _strategy.Participation;
            var notes = new List<string>(_strategy.Notes);
            notes.AddRange(_notes);
            if (_strategy.PrivacySpent is { } spent) notes.Add($"Client-level DP: {spent}.");
            if (p.IgnoredMemory) notes.Add($"Memory check off: every device ran tasks needing {ByteSize.Format(p.RequiredBytes)}.");
            else if (p.ExcludedDevices > 0) notes.Add($"{p.ExcludedDevices} device(s) could not fit the {ByteSize.Format(p.RequiredBytes)} training plan and were left out, holding {p.ExcludedDataShare:P1} of the data.");
            double wall = _wall.Elapsed.TotalSeconds;
            long completed = _received;
            var summary = new RunSummary
            {
                Strategy = _strategy.Name,
                TargetAccuracy = _o.TargetAccuracy,
                TimeToTarget = toTarget,
                FinalAccuracy = last.TestAccuracy,
                BestAccuracy = _points.Max(x => x.TestAccuracy),
                EndTime = last.Time,
                FinalVersion = _global.Version,
                BytesDown = _bytesDown,
                BytesUp = _bytesUp,
                BytesDownPerTask = completed == 0 ? 0 : (double)_bytesDown / completed,
                BytesUpPerTask = completed == 0 ? 0 : (double)_bytesUp / completed,
                BytesDownFirstContact = _firstContactBytes,
                PeakPlannedBytes = _tierPeak.Count == 0 ? 0 : _tierPeak.Values.Max(),
                Tasks = _tasks,
                UpdatesAccepted = _accepted,
                UpdatesDropped = _dropped,
                UpdatesStale = _stale,
                TasksFailed = _failed,
                Devices = _busyTask.Length,
                DevicesExcluded = p.ExcludedDevices,
                DataShareExcluded = p.ExcludedDataShare,
                DevicesContributed = _contributedDevices,
                DataShareContributed = last.DataShareContributed,
                Tiers = TierTable(),
                WallSeconds = wall,
                OverheadShare = wall <= 0 ? 0 : Math.Clamp((wall - _waitSeconds - _evalSeconds) / wall, 0, 1),
                Notes = notes,
                Epsilon = _strategy.PrivacySpent?.Epsilon,
                PrivacyDelta = _strategy.PrivacySpent?.Delta,
                EpsilonPerDevice = _strategy.PrivacyPerDevice?.Epsilon,
            };
            return new RunResult(summary, _points);
        }

        private List<TierStats> TierTable()
        {
            var tiers = new List<TierStats>();
            foreach (var group in _sim._devices.GroupBy(d => d.Tier))
            {
                int contributed = 0;
                long tasks = 0;
                double busy = 0;
                foreach (var d in group)
                {
                    if (_contributed[d.Id]) contributed++;
                    tasks += _tasksPerDevice[d.Id];
                    busy += _busySeconds[d.Id];
                }
                tiers.Add(new TierStats(group.Key, group.Count(), group.Min(d => d.MemoryBytes), _tierPeak.GetValueOrDefault(group.Key),
                    contributed, tasks, busy));
            }
            return tiers;
        }

        public void Dispose() => _trainer.Dispose();
    }
}
