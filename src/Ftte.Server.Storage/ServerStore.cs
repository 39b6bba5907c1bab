using Microsoft.Data.Sqlite;

namespace Ftte.Server.Storage;

/// <summary>
/// The federation server's whole state in one SQLite file (WAL, synchronous=FULL), so that a kill -9 at any
/// moment followed by a restart loses no accepted update and no applied model version.
/// Every mutating method returns only after its transaction committed — except <see cref="TouchDevice"/>,
/// whose last-seen times are batched into the next transaction (losing a few seconds of them is harmless).
/// One connection, owned by the store; a lock serialises callers.
/// </summary>
public sealed class ServerStore : IDisposable
{
    private const int SqliteNotADatabase = 26;
    private const int SqliteCorrupt = 11;
    private const int SqliteConstraint = 19;

    private readonly SqliteConnection _connection;
    private readonly object _gate = new();
    // deviceId → last seen, not yet written (see TouchDevice).
    private readonly Dictionary<int, DateTimeOffset> _touches = new();
    private int _deviceCount;
    private bool _disposed;

    public string Path { get; }

    private ServerStore(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
    }

    /// <summary>
    /// Opens or creates the store at <paramref name="path"/> (creating its directory). A file that is not an
    /// FTTE store, or one written by a newer schema, is refused with a <see cref="StoreException"/>, unchanged.
    /// </summary>
    public static ServerStore Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new StoreException($"The state path '{full}' is a directory: give a file path for --state.");
        string? directory = System.IO.Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            // Without pooling, Dispose really closes the file (checkpoint, -wal removed, temp dirs deletable).
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            connection.Open();
            var store = new ServerStore(full, connection);
            store.Initialise();
            return store;
        }
        catch (SqliteException e)
        {
            // e.g. a read-only file or directory: name the file, keep SQLite's reason.
            connection.Dispose();
            throw new StoreException($"'{full}' cannot be opened as the server state file: {e.Message}", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Initialise()
    {
        long applicationId, userVersion, objects;
        try
        {
            // Read-only probes first: a foreign file must be refused before anything is written to it
            // (setting WAL would rewrite a foreign SQLite file's header).
            applicationId = Scalar<long>("PRAGMA application_id");
            userVersion = Scalar<long>("PRAGMA user_version");
            objects = Scalar<long>("SELECT count(*) FROM sqlite_master");
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteNotADatabase or SqliteCorrupt)
        {
            throw new StoreException(
                $"'{Path}' is not an FTTE server state file (it is not an SQLite database): " +
                "use a new --state file or delete it.", e);
        }

        bool fresh = applicationId == 0 && userVersion == 0 && objects == 0;
        if (!fresh)
        {
            if (applicationId != Schema.ApplicationId || userVersion == 0)
                throw new StoreException(
                    $"'{Path}' is an SQLite database but not an FTTE server state file: " +
                    "use a new --state file or delete it.");
            if (userVersion > Schema.Version)
                throw new StoreException(
                    $"'{Path}' was written by a newer FTTE server (store schema version {userVersion}; this build " +
                    $"reads version {Schema.Version}): run a newer server, or use a new --state file.");
        }

        string mode = Scalar<string>("PRAGMA journal_mode=WAL");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new StoreException($"'{Path}': SQLite refused write-ahead logging (journal_mode is '{mode}'); " +
                                     "put the state file on a local file system.");
        Execute("PRAGMA synchronous=FULL");
        Execute("PRAGMA foreign_keys=ON");
        Execute("PRAGMA busy_timeout=10000");

        if (fresh)
        {
            // Schema and identity in one transaction: a crash here leaves an empty file, which counts as fresh.
            using var tx = _connection.BeginTransaction();
            Execute(Schema.Create, tx);
            Execute($"PRAGMA application_id={Schema.ApplicationId}", tx);
            Execute($"PRAGMA user_version={Schema.Version}", tx);
            tx.Commit();
        }
        else if (userVersion < Schema.Version)
        {
            // Each step and its new version number in one transaction: a crash leaves the old version or the new one.
            for (long v = userVersion; v < Schema.Version; v++)
            {
                using var tx = _connection.BeginTransaction();
                Execute(Schema.Migrations[v - 1], tx);
                Execute($"PRAGMA user_version={v + 1}", tx);
                tx.Commit();
            }
        }
        _deviceCount = checked((int)Scalar<long>("SELECT count(*) FROM devices"));
    }

    // ------------------------------------------------------------------ run

    public StoredRun? LoadRun() => Read(() =>
    {
        using var cmd = Command("SELECT run_id, config_json, secret_hash, created_at FROM run WHERE id = 1");
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        return new StoredRun(r.GetString(0), r.GetString(1), (byte[])r[2], Time(r.GetInt64(3)));
    });

    public void CreateRun(string runId, string configJson, byte[] secretHash, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(configJson);
        ArgumentNullException.ThrowIfNull(secretHash);
        Write(tx =>
        {
            if (Scalar<long>("SELECT count(*) FROM run", tx) != 0)
                throw new StoreException($"'{Path}' already holds a run; it cannot be created twice.");
            Execute("INSERT INTO run (id, run_id, config_json, secret_hash, created_at) VALUES (1, $id, $config, $secret, $at)",
                tx, ("$id", runId), ("$config", configJson), ("$secret", secretHash), ("$at", Ticks(createdAt)));
        });
    }

    public void UpdateRunConfig(string configJson)
    {
        ArgumentNullException.ThrowIfNull(configJson);
        Write(tx => SetRunConfig(tx, configJson));
    }

    /// <summary>
    /// What the server settles when its strategy starts, in one transaction: the run's config with what the strategy resolved
    /// (null: unchanged) and the strategy's initial state, stored with <paramref name="version"/> (null: none). A restart
    /// before the first server step finds both or neither.
    /// </summary>
    public void SaveStart(int version, string? configJson, string? strategyState)
    {
        if (configJson is null && strategyState is null) return;
        Write(tx =>
        {
            if (configJson is not null) SetRunConfig(tx, configJson);
            if (strategyState is not null
                && Execute("UPDATE versions SET strategy_state = $s WHERE version = $v", tx, ("$s", strategyState), ("$v", version)) == 0)
                throw new StoreException($"Cannot store the strategy's state with model version {version}: it is not stored.");
        });
    }

    private void SetRunConfig(SqliteTransaction tx, string configJson)
    {
        if (Execute("UPDATE run SET config_json = $config WHERE id = 1", tx, ("$config", configJson)) == 0)
            throw new StoreException($"'{Path}' holds no run yet; create it before updating its config.");
    }

    // ------------------------------------------------------------------ devices

    /// <summary>Stores a new device; <c>device.Id</c> is ignored. Returns the assigned dense id.</summary>
    public int AddDevice(StoredDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Write(tx =>
        {
            int id = checked((int)Scalar<long>("SELECT coalesce(max(id) + 1, 0) FROM devices", tx));
            Execute("""
                INSERT INTO devices (id, name, tier, memory_bytes, flops, down_bps, up_bps, latency_s, train_samples,
                                     token_hash, token_expires, enrolled_at, last_seen)
                VALUES ($id, $name, $tier, $mem, $flops, $down, $up, $lat, $samples, $token, $expires, $enrolled, $seen)
                """, tx,
                ("$id", id), ("$name", device.Name), ("$tier", device.Tier), ("$mem", device.MemoryBytes),
                ("$flops", device.FlopsPerSecond), ("$down", device.DownlinkBitsPerSecond),
                ("$up", device.UplinkBitsPerSecond), ("$lat", device.LatencySeconds), ("$samples", device.TrainSamples),
                ("$token", device.TokenHash), ("$expires", Ticks(device.TokenExpires)),
                ("$enrolled", Ticks(device.EnrolledAt)), ("$seen", Ticks(device.LastSeen)));
            return id;
        }, committed: id => _deviceCount = id + 1);
    }

    public void UpdateDeviceToken(int deviceId, byte[] tokenHash, DateTimeOffset tokenExpires)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        Write(tx =>
        {
            if (Execute("UPDATE devices SET token_hash = $token, token_expires = $expires WHERE id = $id", tx,
                    ("$token", tokenHash), ("$expires", Ticks(tokenExpires)), ("$id", deviceId)) == 0)
                throw UnknownDevice(deviceId);
        });
    }

    /// <summary>
    /// Records that a device was seen. Cheap: held in memory and written with the next transaction (or on
    /// <see cref="FlushTouches"/>/<see cref="Dispose"/>); <see cref="LoadDevices"/> already reflects it.
    /// </summary>
    public void TouchDevice(int deviceId, DateTimeOffset lastSeen)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if ((uint)deviceId >= (uint)_deviceCount) throw UnknownDevice(deviceId);
            _touches[deviceId] = lastSeen;
        }
    }

    /// <summary>Writes batched <see cref="TouchDevice"/> times now.</summary>
    public void FlushTouches()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_touches.Count == 0) return;
            Write(_ => { });
        }
    }

    public IReadOnlyList<StoredDevice> LoadDevices() => Read(() =>
    {
        using var cmd = Command("""
            SELECT id, name, tier, memory_bytes, flops, down_bps, up_bps, latency_s, train_samples,
                   token_hash, token_expires, enrolled_at, last_seen
            FROM devices ORDER BY id
            """);
        using var r = cmd.ExecuteReader();
        var devices = new List<StoredDevice>();
        while (r.Read())
        {
            int id = r.GetInt32(0);
            var lastSeen = _touches.TryGetValue(id, out var touched) ? touched : Time(r.GetInt64(12));
            devices.Add(new StoredDevice(id, r.GetString(1), r.GetString(2), r.GetInt64(3), Real(r, 4), Real(r, 5),
                Real(r, 6), Real(r, 7), r.GetInt32(8), (byte[])r[9], Time(r.GetInt64(10)), Time(r.GetInt64(11)), lastSeen));
        }
        return devices;
    });

    // ------------------------------------------------------------------ model versions

    public void SaveVersion(int version, ReadOnlySpan<float> weights, DateTimeOffset at)
    {
        byte[] blob = Blobs.FromFloats(weights);
        Write(tx =>
        {
            if (Scalar<long>("SELECT count(*) FROM versions WHERE version = $v", tx, ("$v", version)) != 0)
                throw new StoreException($"Model version {version} is already stored.");
            InsertVersion(tx, version, blob, at);
        });
    }

    /// <summary>The strategy state stored with the newest version that has one (e.g. the DP accountant), null if none.</summary>
    public string? LoadLatestStrategyState() => Read(() =>
        Scalar<string?>("SELECT strategy_state FROM versions WHERE strategy_state IS NOT NULL ORDER BY version DESC LIMIT 1"));

    public (int Version, float[] Weights)? LoadLatestVersion() => Read<(int, float[])?>(() =>
    {
        using var cmd = Command("SELECT version, weights FROM versions ORDER BY version DESC LIMIT 1");
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        int version = r.GetInt32(0);
        return (version, Blobs.ToFloats((byte[])r[1], $"model version {version}"));
    });

    public float[]? LoadVersion(int version) => Read(() =>
    {
        using var cmd = Command("SELECT weights FROM versions WHERE version = $v", ("$v", version));
        using var r = cmd.ExecuteReader();
        return r.Read() ? Blobs.ToFloats((byte[])r[0], $"model version {version}") : null;
    });

    /// <summary>The stored version numbers, ascending (pruning keeps version 0 and the newest ones).</summary>
    public IReadOnlyList<int> StoredVersions() => Read(() =>
    {
        using var cmd = Command("SELECT version FROM versions ORDER BY version");
        using var r = cmd.ExecuteReader();
        var versions = new List<int>();
        while (r.Read()) versions.Add(r.GetInt32(0));
        return versions;
    });

    private void InsertVersion(SqliteTransaction tx, int version, byte[] blob, DateTimeOffset at) =>
        Execute("INSERT INTO versions (version, created_at, weights) VALUES ($v, $at, $w)", tx,
            ("$v", version), ("$at", Ticks(at)), ("$w", blob));

    // ------------------------------------------------------------------ pending updates

    /// <summary>Buffers an accepted update; durable on return. A task id can be pending or applied only once.</summary>
    public void AddPending(PendingUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(update.Delta);
        byte[] delta = Blobs.EncodeDelta(update.Delta);
        Write(tx => InsertPending(tx, update, delta));
    }

    /// <summary>
    /// The verdict on a task's update in one transaction: buffers <paramref name="accepted"/> (when given),
    /// sets the task's state and deletes its upload — so a crash cannot leave a buffered update on a task
    /// that still looks open, or a verdict whose update is gone.
    /// </summary>
    public void CompleteTask(long taskId, TaskState state, string? detail, DateTimeOffset at, PendingUpdate? accepted,
        UpdateRms? rms = null)
    {
        if (!Enum.IsDefined(state)) throw new ArgumentOutOfRangeException(nameof(state));
        if (rms is not null && (!double.IsFinite(rms.Value) || rms.Value < 0))
            throw new ArgumentOutOfRangeException(nameof(rms), $"An update's RMS value must be finite and ≥ 0, got {rms.Value}.");
        if (accepted is not null && accepted.TaskId != taskId)
            throw new ArgumentException($"The accepted update belongs to task {accepted.TaskId}, not {taskId}.", nameof(accepted));
        byte[]? delta = accepted is null ? null : Blobs.EncodeDelta(accepted.Delta);
        Write(tx =>
        {
            if (accepted is not null) InsertPending(tx, accepted, delta!);
            if (rms is not null) InsertRms(tx, rms);
            UpdateTaskState(tx, taskId, state, detail, at);
            Execute("DELETE FROM upload_chunks WHERE task_id = $t", tx, ("$t", taskId));
        });
    }

    /// <summary>How many RMS values per trainable set the store keeps (the outlier test reads this many).</summary>
    public const int RmsHistory = 256;

    private void InsertRms(SqliteTransaction tx, UpdateRms rms)
    {
        Execute("INSERT INTO update_rms (trainable, rms) VALUES ($t, $v)", tx, ("$t", rms.Trainable), ("$v", rms.Value));
        // Keep the newest RmsHistory of the set; the index makes this a short range delete.
        Execute($"""
            DELETE FROM update_rms WHERE trainable = $t AND seq <= (
                SELECT seq FROM update_rms WHERE trainable = $t ORDER BY seq DESC LIMIT 1 OFFSET {RmsHistory})
            """, tx, ("$t", rms.Trainable));
    }

    /// <summary>The kept RMS values of accepted updates per trainable set, oldest first.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<double>> LoadRmsHistory() => Read(() =>
    {
        var history = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        using var cmd = Command("SELECT trainable, rms FROM update_rms ORDER BY seq");
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            string set = reader.GetString(0);
            if (!history.TryGetValue(set, out var values)) history[set] = values = [];
            values.Add(reader.GetDouble(1));
        }
        return (IReadOnlyDictionary<string, IReadOnlyList<double>>)history.ToDictionary(e => e.Key, e => (IReadOnlyList<double>)e.Value, StringComparer.Ordinal);
    });

    private void InsertPending(SqliteTransaction tx, PendingUpdate update, byte[] delta)
    {
        RequireTask(tx, update.TaskId);
        RequireNotSeen(tx, update.TaskId);
        Execute("""
            INSERT INTO pending (task_id, device_id, base_version, staleness, samples, train_loss, train_acc,
                                 received_at, trainable, delta_length, delta)
            VALUES ($task, $device, $base, $stale, $samples, $loss, $acc, $received, $trainable, $length, $delta)
            """, tx,
            ("$task", update.TaskId), ("$device", update.DeviceId), ("$base", update.BaseVersion),
            ("$stale", update.Staleness), ("$samples", update.Samples), ("$loss", update.TrainLoss),
            ("$acc", update.TrainAccuracy), ("$received", update.ReceivedAt), ("$trainable", update.Trainable),
            ("$length", update.Delta.Length), ("$delta", delta));
    }

    /// <summary>The buffered updates in acceptance order.</summary>
    public IReadOnlyList<PendingUpdate> LoadPending() => Read(() =>
    {
        using var cmd = Command("""
            SELECT task_id, device_id, base_version, staleness, samples, train_loss, train_acc, received_at,
                   trainable, delta_length, delta
            FROM pending ORDER BY seq
            """);
        using var r = cmd.ExecuteReader();
        var updates = new List<PendingUpdate>();
        while (r.Read())
        {
            long taskId = r.GetInt64(0);
            updates.Add(new PendingUpdate(taskId, r.GetInt32(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(4),
                Real(r, 5), Real(r, 6), Real(r, 7), r.GetString(8),
                Blobs.DecodeDelta((byte[])r[10], r.GetInt32(9), taskId)));
        }
        return updates;
    });

    /// <summary>
    /// In one transaction: stores <paramref name="version"/> (which must be newer than every stored version),
    /// moves every pending update to the applied log, logs <paramref name="alsoApplied"/> as applied too, and
    /// prunes versions more than <paramref name="keepVersions"/> behind the new one (never version 0, never the
    /// newest). Returns how many pending updates were applied.
    /// </summary>
    public int CommitVersion(int version, ReadOnlySpan<float> weights, DateTimeOffset at, PendingUpdate? alsoApplied,
        int keepVersions = 20, string? strategyState = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keepVersions, 1);
        byte[] blob = Blobs.FromFloats(weights);
        return Write(tx =>
        {
            long? newest = Scalar<long?>("SELECT max(version) FROM versions", tx);
            if (newest is { } n && version <= n)
                throw new StoreException($"Cannot commit model version {version}: version {n} is already stored.");
            InsertVersion(tx, version, blob, at);
            if (strategyState is not null)
                Execute("UPDATE versions SET strategy_state = $s WHERE version = $v", tx, ("$s", strategyState), ("$v", version));

            int applied = Execute("""
                INSERT INTO applied_updates (task_id, device_id, base_version, staleness, samples, applied_in_version)
                SELECT task_id, device_id, base_version, staleness, samples, $v FROM pending ORDER BY seq
                """, tx, ("$v", version));
            Execute("DELETE FROM pending", tx);

            if (alsoApplied is not null)
            {
                RequireTask(tx, alsoApplied.TaskId);
                RequireNotSeen(tx, alsoApplied.TaskId);
                Execute("""
                    INSERT INTO applied_updates (task_id, device_id, base_version, staleness, samples, applied_in_version)
                    VALUES ($task, $device, $base, $stale, $samples, $v)
                    """, tx,
                    ("$task", alsoApplied.TaskId), ("$device", alsoApplied.DeviceId), ("$base", alsoApplied.BaseVersion),
                    ("$stale", alsoApplied.Staleness), ("$samples", alsoApplied.Samples), ("$v", version));
            }

            Execute("DELETE FROM versions WHERE version <> 0 AND version <> $v AND version <= $v - $keep", tx,
                ("$v", version), ("$keep", keepVersions));
            return applied;
        });
    }

    public long AppliedUpdateCount() => Read(() => Scalar<long>("SELECT count(*) FROM applied_updates"));

    /// <summary>Task ids in the applied log, by the version that applied them, then by task id.</summary>
    public IReadOnlyList<long> AppliedTaskIds() => Read(() =>
    {
        // task_id is the rowid, so rows carry no insertion order: order by version, then task id.
        using var cmd = Command("SELECT task_id FROM applied_updates ORDER BY applied_in_version, task_id");
        using var r = cmd.ExecuteReader();
        var ids = new List<long>();
        while (r.Read()) ids.Add(r.GetInt64(0));
        return ids;
    });

    private void RequireNotSeen(SqliteTransaction tx, long taskId)
    {
        if (Scalar<long>("SELECT count(*) FROM pending WHERE task_id = $t", tx, ("$t", taskId)) != 0)
            throw new StoreException($"The update of task {taskId} is already pending.");
        if (Scalar<long>("SELECT count(*) FROM applied_updates WHERE task_id = $t", tx, ("$t", taskId)) != 0)
            throw new StoreException($"The update of task {taskId} was already applied.");
    }

    // ------------------------------------------------------------------ tasks

    public long NextTaskId() => Read(() => Scalar<long>("SELECT coalesce(max(task_id) + 1, 0) FROM tasks"));

    /// <summary>Stores a new task in state <see cref="TaskState.Dispatched"/> (the record's State and Detail are ignored).</summary>
    public void AddTask(StoredTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        Write(tx =>
        {
            if (Scalar<long>("SELECT count(*) FROM tasks WHERE task_id = $t", tx, ("$t", task.TaskId)) != 0)
                throw new StoreException($"Task {task.TaskId} already exists.");
            if (Scalar<long>("SELECT count(*) FROM devices WHERE id = $d", tx, ("$d", task.DeviceId)) == 0)
                throw UnknownDevice(task.DeviceId);
            Execute("""
                INSERT INTO tasks (task_id, device_id, base_version, trainable, spec_json, state, dispatched_at, detail, state_at)
                VALUES ($task, $device, $base, $trainable, $spec, $state, $at, NULL, $at)
                """, tx,
                ("$task", task.TaskId), ("$device", task.DeviceId), ("$base", task.BaseVersion),
                ("$trainable", task.Trainable), ("$spec", task.SpecJson),
                ("$state", nameof(TaskState.Dispatched)), ("$at", Ticks(task.DispatchedAt)));
        });
    }

    public void SetTaskState(long taskId, TaskState state, string? detail, DateTimeOffset at)
    {
        if (!Enum.IsDefined(state)) throw new ArgumentOutOfRangeException(nameof(state));
        Write(tx => UpdateTaskState(tx, taskId, state, detail, at));
    }

    private void UpdateTaskState(SqliteTransaction tx, long taskId, TaskState state, string? detail, DateTimeOffset at)
    {
        if (Execute("UPDATE tasks SET state = $state, detail = $detail, state_at = $at WHERE task_id = $t", tx,
                ("$state", state.ToString()), ("$detail", detail), ("$at", Ticks(at)), ("$t", taskId)) == 0)
            throw UnknownTask(taskId);
    }

    public StoredTask? LoadTask(long taskId) => Read(() =>
    {
        using var cmd = Command(TaskColumns + " WHERE task_id = $t", ("$t", taskId));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadTask(r) : null;
    });

    /// <summary>On restart: every task still Dispatched becomes Expired ("server restarted"); returns them so.</summary>
    public IReadOnlyList<StoredTask> ExpireOpenTasks(DateTimeOffset at) => Write(tx =>
    {
        var open = new List<StoredTask>();
        using (var cmd = Command(TaskColumns + " WHERE state = $s ORDER BY task_id", tx, ("$s", nameof(TaskState.Dispatched))))
        using (var r = cmd.ExecuteReader())
            while (r.Read())
                open.Add(ReadTask(r) with { State = TaskState.Expired, Detail = ExpiredDetail });
        Execute("UPDATE tasks SET state = $expired, detail = $detail, state_at = $at WHERE state = $s", tx,
            ("$expired", nameof(TaskState.Expired)), ("$detail", ExpiredDetail), ("$at", Ticks(at)),
            ("$s", nameof(TaskState.Dispatched)));
        return (IReadOnlyList<StoredTask>)open;
    });

    /// <summary>Task counts per state; every state is present (0 when none).</summary>
    public IReadOnlyDictionary<TaskState, long> TaskCounts() => Read(() =>
    {
        var counts = Enum.GetValues<TaskState>().ToDictionary(s => s, _ => 0L);
        using var cmd = Command("SELECT state, count(*) FROM tasks GROUP BY state");
        using var r = cmd.ExecuteReader();
        while (r.Read()) counts[ParseState(r.GetString(0))] = r.GetInt64(1);
        return (IReadOnlyDictionary<TaskState, long>)counts;
    });

    private const string ExpiredDetail = "server restarted";

    private const string TaskColumns =
        "SELECT task_id, device_id, base_version, trainable, spec_json, state, dispatched_at, detail FROM tasks";

    private static StoredTask ReadTask(SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetInt32(1), r.GetInt32(2), r.GetString(3), r.GetString(4), ParseState(r.GetString(5)),
            Time(r.GetInt64(6)), r.IsDBNull(7) ? null : r.GetString(7));

    private static TaskState ParseState(string name) =>
        Enum.TryParse<TaskState>(name, ignoreCase: false, out var state) && Enum.IsDefined(state)
            ? state
            : throw new StoreException($"Corrupt store: unknown task state '{name}'.");

    private void RequireTask(SqliteTransaction tx, long taskId)
    {
        if (Scalar<long>("SELECT count(*) FROM tasks WHERE task_id = $t", tx, ("$t", taskId)) == 0)
            throw UnknownTask(taskId);
    }

    // ------------------------------------------------------------------ resumable uploads

    /// <summary>
    /// Appends a chunk of task <paramref name="taskId"/>'s upload at <paramref name="offset"/> and returns the
    /// acknowledged total. A chunk starting before the acknowledged total is a resend whose ack was lost: the
    /// total is returned unchanged. A gap, or a total beyond <paramref name="maxBytes"/>, is a StoreException.
    /// </summary>
    public long AppendChunk(long taskId, long offset, ReadOnlySpan<byte> data, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        byte[] chunk = data.ToArray();
        return Write(tx =>
        {
            RequireTask(tx, taskId);
            long acknowledged = Acknowledged(tx, taskId);
            if (offset > acknowledged)
                throw new StoreException(
                    $"Upload of task {taskId}: chunk at offset {offset} leaves a gap (acknowledged {acknowledged} bytes).");
            if (offset + chunk.Length > maxBytes)
                throw new StoreException(
                    $"Upload of task {taskId}: {offset + chunk.Length} bytes exceed the limit of {maxBytes}.");
            if (offset < acknowledged || chunk.Length == 0) return acknowledged;
            Execute("INSERT INTO upload_chunks (task_id, offset, data) VALUES ($t, $o, $d)", tx,
                ("$t", taskId), ("$o", offset), ("$d", chunk));
            return acknowledged + chunk.Length;
        });
    }

    public long AcknowledgedBytes(long taskId) => Read(() => Acknowledged(null, taskId));

    /// <summary>The upload's chunks concatenated (empty when none).</summary>
    public byte[] LoadUpload(long taskId) => Read(() =>
    {
        using var cmd = Command("SELECT data FROM upload_chunks WHERE task_id = $t ORDER BY offset", ("$t", taskId));
        using var r = cmd.ExecuteReader();
        using var buffer = new MemoryStream();
        while (r.Read()) buffer.Write((byte[])r[0]);
        return buffer.ToArray();
    });

    public void DeleteUpload(long taskId) =>
        Write(tx => { Execute("DELETE FROM upload_chunks WHERE task_id = $t", tx, ("$t", taskId)); });

    // Chunks are contiguous by construction, so their total length is the acknowledged size
    // (length() of a blob does not read its content).
    private long Acknowledged(SqliteTransaction? tx, long taskId) =>
        Scalar<long>("SELECT coalesce(sum(length(data)), 0) FROM upload_chunks WHERE task_id = $t", tx, ("$t", taskId));

    // ------------------------------------------------------------------ metrics and refusals

    public void AddMetric(StoredMetric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        Write(tx =>
        {
            Execute("""
                INSERT INTO metrics (time, version, test_accuracy, test_loss, updates_accepted, updates_refused,
                                     bytes_down, bytes_up, devices_online, epsilon)
                VALUES ($time, $v, $acc, $loss, $accepted, $refused, $down, $up, $online, $eps)
                """, tx, ("$eps", metric.Epsilon),
                ("$time", metric.Time), ("$v", metric.Version), ("$acc", metric.TestAccuracy), ("$loss", metric.TestLoss),
                ("$accepted", metric.UpdatesAccepted), ("$refused", metric.UpdatesRefused),
                ("$down", metric.BytesDown), ("$up", metric.BytesUp), ("$online", metric.DevicesOnline));
        });
    }

    public IReadOnlyList<StoredMetric> LoadMetrics() => Read(() =>
    {
        using var cmd = Command("""
            SELECT time, version, test_accuracy, test_loss, updates_accepted, updates_refused, bytes_down, bytes_up,
                   devices_online, epsilon
            FROM metrics ORDER BY seq
            """);
        using var r = cmd.ExecuteReader();
        var metrics = new List<StoredMetric>();
        while (r.Read())
            metrics.Add(new StoredMetric(Real(r, 0), r.GetInt32(1), Real(r, 2), Real(r, 3), r.GetInt64(4), r.GetInt64(5),
                r.GetInt64(6), r.GetInt64(7), r.GetInt32(8)) { Epsilon = Real(r, 9) });
        return metrics;
    });

    public void CountRefusal(string reason) => CountRefusals([new(reason, 1)]);

    /// <summary>Adds several refusal counts in one transaction (the server batches them: a flood of bad calls must not become a flood of disk syncs).</summary>
    public void CountRefusals(IReadOnlyCollection<KeyValuePair<string, long>> counts)
    {
        foreach (var (reason, _) in counts) ArgumentException.ThrowIfNullOrEmpty(reason);
        if (counts.Count == 0) return;
        Write(tx =>
        {
            foreach (var (reason, count) in counts)
                Execute("INSERT INTO refusals (reason, count) VALUES ($r, $n) ON CONFLICT(reason) DO UPDATE SET count = count + $n",
                    tx, ("$r", reason), ("$n", count));
        });
    }

    public IReadOnlyDictionary<string, long> Refusals() => Read(() =>
    {
        using var cmd = Command("SELECT reason, count FROM refusals ORDER BY reason");
        using var r = cmd.ExecuteReader();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (r.Read()) counts[r.GetString(0)] = r.GetInt64(1);
        return (IReadOnlyDictionary<string, long>)counts;
    });

    // ------------------------------------------------------------------ plumbing

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            try
            {
                if (_touches.Count > 0) Write(_ => { });
            }
            finally
            {
                _disposed = true;
                _connection.Dispose();
            }
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private T Read<T>(Func<T> body)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return body();
        }
    }

    private void Write(Action<SqliteTransaction> body) => Write<bool>(tx => { body(tx); return true; });

    /// <summary>
    /// Runs <paramref name="body"/> in one IMMEDIATE transaction (the write lock is taken up front, so a second
    /// connection cannot make it fail half-way) together with the batched device touches, and returns only
    /// after the commit (synchronous=FULL: the WAL is fsynced).
    /// </summary>
    private T Write<T>(Func<SqliteTransaction, T> body, Action<T>? committed = null)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            T result;
            try
            {
                using var tx = _connection.BeginTransaction(deferred: false);
                foreach (var (id, seen) in _touches)
                    Execute("UPDATE devices SET last_seen = $seen WHERE id = $id", tx, ("$seen", Ticks(seen)), ("$id", id));
                result = body(tx);
                tx.Commit();
            }
            catch (SqliteException e) when (e.SqliteErrorCode == SqliteConstraint)
            {
                throw new StoreException($"'{Path}': the change was refused by a store constraint ({e.Message}).", e);
            }
            _touches.Clear();
            committed?.Invoke(result);
            return result;
        }
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters) =>
        Command(sql, null, parameters);

    private SqliteCommand Command(string sql, SqliteTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters)
            // SQLite has no NaN (Microsoft.Data.Sqlite refuses to bind it): store NULL, read back as NaN (see Real).
            cmd.Parameters.AddWithValue(name, value is null or double.NaN ? DBNull.Value : value);
        return cmd;
    }

    private int Execute(string sql, SqliteTransaction? tx = null, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, tx, parameters);
        return cmd.ExecuteNonQuery();
    }

    private T Scalar<T>(string sql, SqliteTransaction? tx = null, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(sql, tx, parameters);
        object? value = cmd.ExecuteScalar();
        if (value is null or DBNull) return default!;
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)Convert.ChangeType(value, type, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long Ticks(DateTimeOffset time) => time.UtcTicks;

    private static DateTimeOffset Time(long utcTicks) => new(utcTicks, TimeSpan.Zero);

    // NaN is stored as NULL (see Command); map it back.
    private static double Real(SqliteDataReader r, int column) => r.IsDBNull(column) ? double.NaN : r.GetDouble(column);

    private static StoreException UnknownDevice(int deviceId) => new($"Unknown device id {deviceId}.");

    private static StoreException UnknownTask(long taskId) => new($"Unknown task id {taskId}.");
}
