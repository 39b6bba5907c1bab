using Ftte.Protocol;
using Ftte.Server.Storage;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>
/// A restart of the server process from its state file: accepted updates are neither lost nor counted twice, the
/// pending ones go back into the strategy's buffer, and tasks that were in flight are expired.
/// </summary>
public sealed class DurabilityTests
{
    [Fact]
    public async Task Restart_restores_pending_updates_into_the_strategy_and_expires_in_flight_tasks()
    {
        // FedBuff with K = 3: two accepted updates stay pending (no server step before the restart).
        var config = TestServer.Config(minDevices: 2, concurrency: 4, bufferSize: 3);
        await using var test = await TestServer.StartAsync(config);
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");
        var taskA = await test.TaskAsync(a);
        var taskB = await test.TaskAsync(b);
        await test.SubmitValidAsync(a, taskA);
        await test.SubmitValidAsync(b, taskB);
        // Both devices got their next task at once (the strategy refills M): these are in flight at the restart.
        var inFlightA = await test.TaskAsync(a);
        var inFlightB = await test.TaskAsync(b);
        // Half an upload of B's next task, acknowledged: survives, but its task will be expired.
        var partial = Payloads.For(b).Delta(inFlightB.Trainable, 1e-3f);
        Assert.Equal(V1.Verdict.Pending, (await test.SubmitAsync(b, TestServer.Chunk(inFlightB.TaskId, partial, 0, 4096))).Verdict);

        var before = await test.StatusAsync();
        Assert.Equal(2, before.UpdatesAccepted);
        Assert.Equal(0, before.Version);
        Assert.Equal(2, before.TasksInFlight);
        string runId = before.RunId;

        // "Crash": Kestrel and the state file are closed; nothing of the run is saved on the way out (every accept
        // was durable when acknowledged). Reopen from the same file, config from the state (none given).
        await test.RestartAsync(config: null);
        Assert.Contains(test.Log, line => line.Contains("Restored 2 accepted update(s)", StringComparison.Ordinal));

        var after = await test.StatusAsync();
        Assert.Equal(runId, after.RunId);
        Assert.Equal(2, after.UpdatesAccepted);
        Assert.Equal(0, after.Version);
        Assert.Equal(0, after.TasksInFlight);
        Assert.Equal(2, after.DevicesEnrolled);

        // Tasks from before the restart are gone: their uploads are refused as expired, the partial upload too.
        await TestServer.Refused(StatusCode.FailedPrecondition,
            () => test.UploadAsync(a, inFlightA.TaskId, Payloads.For(a).Delta(inFlightA.Trainable, 1e-3f)),
            $"task {inFlightA.TaskId}", "expired", "server restarted", "poll for a new task");
        await TestServer.Refused(StatusCode.FailedPrecondition,
            () => test.SubmitAsync(b, TestServer.Chunk(inFlightB.TaskId, partial, 4096, partial.Length - 4096)), "expired");

        // Tokens survive the restart. A polls, gets a new task, and its update is the third of the buffer: with the
        // two restored ones the strategy makes a server step.
        var fresh = await test.TaskAsync(a);
        Assert.True(fresh.TaskId > inFlightB.TaskId, $"new task id {fresh.TaskId} must not reuse an old one (last {inFlightB.TaskId})");
        var reply = await test.SubmitValidAsync(a, fresh);
        Assert.Equal(1, reply.GlobalVersion);
        var stepped = await test.StatusAsync();
        Assert.Equal(1, stepped.Version);
        Assert.Equal(3, stepped.UpdatesAccepted);

        // The state file agrees: the step applied the two restored updates and the new one, and nothing is pending.
        await test.StopAsync();
        using (var store = ServerStore.Open(test.StatePath))
        {
            Assert.Equal(3, store.AppliedUpdateCount());
            Assert.Equal(new[] { taskA.TaskId, taskB.TaskId, fresh.TaskId }.Order(), store.AppliedTaskIds().Order());
            Assert.Empty(store.LoadPending());
            Assert.Equal(TaskState.Expired, store.LoadTask(inFlightA.TaskId)!.State);
            Assert.Equal(0, store.AcknowledgedBytes(inFlightB.TaskId));
            Assert.NotNull(store.LoadVersion(1));
        }
    }

    [Fact]
    public async Task Reopening_with_a_different_config_or_secret_is_refused()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        await test.EnrolAsync("a");
        await test.StopAsync();

        var other = TestServer.Config(minDevices: 1, bufferSize: 7);
        var e = Assert.ThrowsAny<Exception>(() => FederationServer.Open(test.StatePath, other, TestServer.Secret));
        Assert.Contains("different config", e.Message);
        e = Assert.ThrowsAny<Exception>(() => FederationServer.Open(test.StatePath, null, "another secret"));
        Assert.Contains("enrolment secret differs", e.Message);
    }
}
