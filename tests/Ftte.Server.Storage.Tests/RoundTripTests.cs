namespace Ftte.Server.Storage.Tests;

public class RoundTripTests
{
    [Fact]
    public void Run_round_trips_and_is_created_once()
    {
        using var temp = new TempStore();
        using var store = temp.Open();
        Assert.Throws<StoreException>(() => store.UpdateRunConfig("{}"));

        var created = new DateTimeOffset(2025, 3, 1, 14, 30, 15, 123, TimeSpan.FromHours(2)).AddTicks(4567);
        byte[] secret = Sample.Bytes(32, 9);
        store.CreateRun("run-abc", "{\"a\":1}", secret, created);
        var run = store.LoadRun()!;
        Assert.Equal("run-abc", run.RunId);
        Assert.Equal("{\"a\":1}", run.ConfigJson);
        Assert.Equal(secret, run.SecretHash);
        Assert.Equal(created, run.CreatedAt); // same instant, to the tick
        Assert.Equal(TimeSpan.Zero, run.CreatedAt.Offset);

        store.UpdateRunConfig("{\"a\":1,\"trainable\":\"last-3\"}");
        Assert.Equal("{\"a\":1,\"trainable\":\"last-3\"}", store.LoadRun()!.ConfigJson);
        Assert.Throws<StoreException>(() => store.CreateRun("run-2", "{}", secret, created));
        Assert.Equal("run-abc", store.LoadRun()!.RunId);
    }

    [Fact]
    public void SaveStart_stores_the_resolved_config_and_the_strategy_state_in_one_transaction()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open());
        store.SaveStart(0, "{\"resolved\":true}", "{\"steps\":0}");
        Assert.Equal("{\"resolved\":true}", store.LoadRun()!.ConfigJson);
        Assert.Equal("{\"steps\":0}", store.LoadLatestStrategyState());

        // A state for a version that is not stored is refused, and the config of the same call is not written either.
        Assert.Throws<StoreException>(() => store.SaveStart(9, "{\"other\":1}", "{\"steps\":1}"));
        Assert.Equal("{\"resolved\":true}", store.LoadRun()!.ConfigJson);
        Assert.Equal("{\"steps\":0}", store.LoadLatestStrategyState());

        // A later version's state is the one a restart reads.
        store.CommitVersion(1, Sample.Weights(64, 1), Sample.T0, null, strategyState: "{\"steps\":1}");
        Assert.Equal("{\"steps\":1}", store.LoadLatestStrategyState());
    }

    [Fact]
    public void Devices_get_dense_ids_and_every_field_round_trips()
    {
        using var temp = new TempStore();
        using var store = temp.Open();
        var devices = Enumerable.Range(0, 4).Select(Sample.Device).ToArray();
        Assert.Equal([0, 1, 2, 3], devices.Select(store.AddDevice));

        var loaded = store.LoadDevices();
        Assert.Equal(4, loaded.Count);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(devices[i] with { Id = i, TokenHash = Array.Empty<byte>() }, loaded[i] with { TokenHash = Array.Empty<byte>() });
            Assert.Equal(devices[i].TokenHash, loaded[i].TokenHash);
        }

        byte[] token = Sample.Bytes(32, 77);
        store.UpdateDeviceToken(2, token, Sample.T0.AddDays(3));
        Assert.Equal(token, store.LoadDevices()[2].TokenHash);
        Assert.Equal(Sample.T0.AddDays(3), store.LoadDevices()[2].TokenExpires);
        Assert.Throws<StoreException>(() => store.UpdateDeviceToken(4, token, Sample.T0));
    }

    [Fact]
    public void Touches_are_visible_at_once_and_written_by_the_next_transaction_or_dispose()
    {
        using var temp = new TempStore();
        using (var store = temp.Open())
        {
            Sample.Seed(store, devices: 3);
            store.TouchDevice(1, Sample.T0.AddMinutes(5));
            Assert.Equal(Sample.T0.AddMinutes(5), store.LoadDevices()[1].LastSeen);
            store.CountRefusal("nan"); // any transaction carries the batch

            using (var second = temp.Open())
                Assert.Equal(Sample.T0.AddMinutes(5), second.LoadDevices()[1].LastSeen);

            store.TouchDevice(2, Sample.T0.AddMinutes(9));
            Assert.Throws<StoreException>(() => store.TouchDevice(3, Sample.T0));
            Assert.Throws<StoreException>(() => store.TouchDevice(-1, Sample.T0));
        }
        using var reopened = temp.Open();
        var devices = reopened.LoadDevices();
        Assert.Equal(Sample.T0.AddMinutes(5), devices[1].LastSeen);
        Assert.Equal(Sample.T0.AddMinutes(9), devices[2].LastSeen);
        Assert.Equal(Sample.T0, devices[0].LastSeen);
    }

    [Fact]
    public void Versions_round_trip_bitwise_and_latest_is_the_highest()
    {
        using var temp = new TempStore();
        using var store = temp.Open();
        Assert.Null(store.LoadVersion(0));
        var w0 = Sample.Weights(1000, 1);
        var w5 = Sample.Weights(1000, 5);
        var w3 = Sample.Weights(1000, 3);
        store.SaveVersion(0, w0, Sample.T0);
        store.SaveVersion(5, w5, Sample.T0);
        store.SaveVersion(3, w3, Sample.T0);

        Sample.AssertBitwise(w3, store.LoadVersion(3));
        var (version, weights) = store.LoadLatestVersion()!.Value;
        Assert.Equal(5, version);
        Sample.AssertBitwise(w5, weights);
        Assert.Null(store.LoadVersion(4));
        Assert.Throws<StoreException>(() => store.SaveVersion(3, w0, Sample.T0));
        Sample.AssertBitwise(w3, store.LoadVersion(3));

        store.SaveVersion(6, ReadOnlySpan<float>.Empty, Sample.T0);
        Assert.Empty(store.LoadVersion(6)!);
    }

    [Fact]
    public void Pending_updates_round_trip_in_acceptance_order()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), devices: 2, tasks: 10);
        var updates = new List<PendingUpdate>
        {
            Sample.Update(7, 1, length: 5000, seed: 1),
            Sample.Update(2, 0, length: 5000, seed: 2),
            Sample.Update(9, 1, length: 5000, seed: 3) with { TrainLoss = double.NaN, TrainAccuracy = double.PositiveInfinity },
            Sample.Update(0, 0, length: 0),
            Sample.Update(4, 0, length: 300) with { Delta = new float[300] }, // trained nothing
            Sample.Update(5, 1, length: 3) with { Delta = [-0f, float.Epsilon, BitConverter.Int32BitsToSingle(0x7FA00001)] },
        };
        foreach (var u in updates) store.AddPending(u);

        var loaded = store.LoadPending();
        Assert.Equal(updates.Count, loaded.Count);
        for (int i = 0; i < updates.Count; i++) Sample.AssertSame(updates[i], loaded[i]);
    }

    [Fact]
    public void Pending_update_for_an_unknown_task_or_twice_is_refused()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), tasks: 2);
        Assert.Throws<StoreException>(() => store.AddPending(Sample.Update(5, 0)));
        store.AddPending(Sample.Update(1, 0));
        Assert.Throws<StoreException>(() => store.AddPending(Sample.Update(1, 0)));
        Assert.Single(store.LoadPending());
    }

    [Fact]
    public void Tasks_round_trip_and_change_state()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), devices: 2);
        Assert.Equal(0, store.NextTaskId());

        // State and Detail of the record are ignored: a new task is Dispatched.
        store.AddTask(Sample.Task(0, 1, baseVersion: 3) with { State = TaskState.Accepted, Detail = "x" });
        store.AddTask(Sample.Task(7, 0));
        Assert.Equal(8, store.NextTaskId());
        Assert.Equal(Sample.Task(0, 1, baseVersion: 3), store.LoadTask(0));
        Assert.Null(store.LoadTask(1));

        store.SetTaskState(0, TaskState.Rejected, "wrong-shape", Sample.T0.AddMinutes(1));
        Assert.Equal(Sample.Task(0, 1, 3) with { State = TaskState.Rejected, Detail = "wrong-shape" }, store.LoadTask(0));
        store.SetTaskState(0, TaskState.Failed, null, Sample.T0.AddMinutes(2));
        Assert.Null(store.LoadTask(0)!.Detail);

        Assert.Throws<StoreException>(() => store.SetTaskState(3, TaskState.Accepted, null, Sample.T0));
        Assert.Throws<StoreException>(() => store.AddTask(Sample.Task(7, 0)));   // duplicate id
        Assert.Throws<StoreException>(() => store.AddTask(Sample.Task(8, 5)));   // unknown device

        var counts = store.TaskCounts();
        Assert.Equal(Enum.GetValues<TaskState>().Length, counts.Count);
        Assert.Equal(1, counts[TaskState.Failed]);
        Assert.Equal(1, counts[TaskState.Dispatched]);
        Assert.Equal(0, counts[TaskState.Accepted]);
    }

    [Fact]
    public void A_verdict_buffers_the_update_sets_the_state_and_drops_the_upload_together()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), tasks: 3);
        foreach (long t in new long[] { 0, 1, 2 }) store.AppendChunk(t, 0, Sample.Bytes(50, (int)t), 1000);
        var update = Sample.Update(0, 0, length: 500, seed: 4);

        store.CompleteTask(0, TaskState.Accepted, null, Sample.T0.AddMinutes(1), update);
        store.CompleteTask(1, TaskState.DroppedStale, "staleness 12", Sample.T0.AddMinutes(1), null);
        Sample.AssertSame(update, Assert.Single(store.LoadPending()));
        Assert.Equal((TaskState.Accepted, 0L), (store.LoadTask(0)!.State, store.AcknowledgedBytes(0)));
        Assert.Equal((TaskState.DroppedStale, "staleness 12", 0L), (store.LoadTask(1)!.State, store.LoadTask(1)!.Detail, store.AcknowledgedBytes(1)));

        // A refused verdict (the update is already buffered) changes nothing at all.
        Assert.Throws<StoreException>(() => store.CompleteTask(0, TaskState.Rejected, "again", Sample.T0, update));
        Assert.Throws<ArgumentException>(() => store.CompleteTask(2, TaskState.Accepted, null, Sample.T0, update));
        Assert.Equal(TaskState.Accepted, store.LoadTask(0)!.State);
        Assert.Equal((TaskState.Dispatched, 50L), (store.LoadTask(2)!.State, store.AcknowledgedBytes(2)));
        Assert.Single(store.LoadPending());
    }

    [Fact]
    public void Restart_expires_exactly_the_dispatched_tasks()
    {
        using var temp = new TempStore();
        using (var store = Sample.Seed(temp.Open(), devices: 2, tasks: 6))
        {
            store.SetTaskState(1, TaskState.Delivered, null, Sample.T0);
            store.SetTaskState(2, TaskState.Accepted, null, Sample.T0);
            store.SetTaskState(4, TaskState.DroppedStale, "staleness 9", Sample.T0);
        }

        using var restarted = temp.Open();
        var expired = restarted.ExpireOpenTasks(Sample.T0.AddHours(1));
        Assert.Equal([0L, 3, 5], expired.Select(t => t.TaskId));
        Assert.All(expired, t => Assert.Equal((TaskState.Expired, "server restarted"), (t.State, t.Detail)));
        Assert.Equal(expired[1], restarted.LoadTask(3));
        Assert.Equal(TaskState.Delivered, restarted.LoadTask(1)!.State);
        Assert.Equal(TaskState.Accepted, restarted.LoadTask(2)!.State);
        Assert.Equal(("staleness 9"), restarted.LoadTask(4)!.Detail);
        Assert.Empty(restarted.ExpireOpenTasks(Sample.T0.AddHours(2)));

        var counts = restarted.TaskCounts();
        Assert.Equal(3, counts[TaskState.Expired]);
        Assert.Equal(0, counts[TaskState.Dispatched]);
    }

    [Fact]
    public void Metrics_and_refusals_round_trip()
    {
        using var temp = new TempStore();
        var metrics = new[]
        {
            new StoredMetric(0.0, 0, 0.1, 2.30, 0, 0, 1000, 0, 0),
            new StoredMetric(12.75, 3, 0.62, double.NaN, 17, 2, long.MaxValue, 123456789012, 40),
            new StoredMetric(30.5, 4, 0.7, 0.9, 20, 3, 5, 6, 41),
        };
        using (var store = temp.Open())
        {
            foreach (var m in metrics) store.AddMetric(m);
            foreach (var reason in new[] { "nan", "replay", "nan", "wrong-shape", "nan" }) store.CountRefusal(reason);
        }
        using var reopened = temp.Open();
        Assert.Equal(metrics, reopened.LoadMetrics());
        Assert.Equal(new Dictionary<string, long> { ["nan"] = 3, ["replay"] = 1, ["wrong-shape"] = 1 }, reopened.Refusals());
    }

    [Fact]
    public void The_outlier_history_keeps_the_newest_values_of_each_set_across_a_reopen()
    {
        using var temp = new TempStore();
        int n = ServerStore.RmsHistory + 44;
        using (var store = Sample.Seed(temp.Open(), tasks: n + 3))
        {
            for (int t = 0; t < n; t++) store.CompleteTask(t, TaskState.Accepted, null, Sample.T0, null, new UpdateRms("a", t));
            for (int t = n; t < n + 3; t++) store.CompleteTask(t, TaskState.Accepted, null, Sample.T0, null, new UpdateRms("b", 0.5 * t));
            // Not a number is refused before anything is written: the verdict and the history stay together.
            Assert.Throws<ArgumentOutOfRangeException>(() => store.CompleteTask(0, TaskState.Accepted, null, Sample.T0, null, new UpdateRms("a", double.NaN)));
        }
        using (var store = temp.Open())
        {
            var history = store.LoadRmsHistory();
            Assert.Equal(Enumerable.Range(44, ServerStore.RmsHistory).Select(t => (double)t), history["a"]);
            Assert.Equal([0.5 * n, 0.5 * (n + 1), 0.5 * (n + 2)], history["b"]);
        }
    }
}
