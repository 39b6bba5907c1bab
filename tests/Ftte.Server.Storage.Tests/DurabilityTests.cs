using System.Diagnostics;

namespace Ftte.Server.Storage.Tests;

public class DurabilityTests
{
    [Fact]
    public void Everything_survives_dispose_and_reopen()
    {
        using var temp = new TempStore();
        var update = Sample.Update(1, 1, length: 2000, seed: 3);
        var w1 = Sample.Weights(64, 21);
        using (var store = Sample.Seed(temp.Open(), devices: 2, tasks: 3))
        {
            store.AddPending(Sample.Update(0, 0));
            store.CommitVersion(1, w1, Sample.T0.AddMinutes(1), null);
            store.AddPending(update);
            store.SetTaskState(2, TaskState.Delivered, "uploading", Sample.T0);
            store.AppendChunk(2, 0, Sample.Bytes(100, 1), 1000);
            store.AddMetric(new StoredMetric(1, 1, 0.5, 1.0, 1, 0, 10, 20, 2));
            store.CountRefusal("nan");
            store.UpdateRunConfig("{\"resolved\":true}");
        }
        using var reopened = temp.Open();
        AssertState(reopened, update, w1);
    }

    [Fact]
    public void A_second_open_sees_committed_data_while_the_first_handle_was_never_closed()
    {
        using var temp = new TempStore();
        var update = Sample.Update(1, 1, length: 2000, seed: 3);
        var w1 = Sample.Weights(64, 21);
        var first = Sample.Seed(temp.Open(), devices: 2, tasks: 3);
        first.AddPending(Sample.Update(0, 0));
        first.CommitVersion(1, w1, Sample.T0.AddMinutes(1), null);
        first.AddPending(update);
        first.SetTaskState(2, TaskState.Delivered, "uploading", Sample.T0);
        first.AppendChunk(2, 0, Sample.Bytes(100, 1), 1000);
        first.AddMetric(new StoredMetric(1, 1, 0.5, 1.0, 1, 0, 10, 20, 2));
        first.CountRefusal("nan");
        first.UpdateRunConfig("{\"resolved\":true}");
        // Nothing checkpointed yet: the commits live in the write-ahead log only.
        Assert.True(new FileInfo(temp.File + "-wal").Length > 0);

        using (var second = temp.Open()) AssertState(second, update, w1);
        first.Dispose();
    }

    [Fact]
    public void An_abandoned_writer_loses_no_acknowledged_update()
    {
        using var temp = new TempStore();
        using (Sample.Seed(temp.Open(), devices: 1, modelLength: CrashWriter.ModelLength)) { }

        var writer = temp.Open(); // abandoned below, never disposed before the check
        var acks = new List<string>();
        var stop = 0;
        var thread = new Thread(() => CrashWriter.Run(writer, line => { lock (acks) acks.Add(line); }, () => Volatile.Read(ref stop) != 0));
        thread.Start();
        SpinWait.SpinUntil(() => { lock (acks) return acks.Count >= 40; }, TimeSpan.FromSeconds(20));

        // While it keeps writing: every update acknowledged so far is visible to a fresh open.
        List<long> ackedTasks;
        lock (acks) ackedTasks = CrashWriter.Parse(acks).Tasks;
        Assert.True(ackedTasks.Count >= 20, $"writer acknowledged only {ackedTasks.Count} updates");
        using (var observer = temp.Open())
        {
            var pending = observer.LoadPending().Select(p => p.TaskId).ToHashSet(); // pending before applied: updates only move that way
            var applied = observer.AppliedTaskIds().ToHashSet();
            Assert.All(ackedTasks, t => Assert.True(pending.Contains(t) || applied.Contains(t), $"acknowledged task {t} missing"));
        }

        Volatile.Write(ref stop, 1);
        thread.Join();
        using (var restarted = temp.Open())
        {
            var (tasks, versions) = CrashWriter.Parse(acks);
            CrashWriter.Verify(restarted, tasks, versions);
        }
        writer.Dispose();
    }

    [Fact]
    public async Task A_killed_server_process_loses_no_acknowledged_update()
    {
        using var temp = new TempStore();
        using (Sample.Seed(temp.Open(), devices: 1, modelLength: CrashWriter.ModelLength)) { }

        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "exec", typeof(Program).Assembly.Location, "crash-writer", temp.File }) start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        using var enough = new ManualResetEventSlim();
        var reader = new Thread(() =>
        {
            while (child.StandardOutput.ReadLine() is { } line)
                lock (lines)
                {
                    lines.Add(line);
                    if (lines.Count >= 60) enough.Set();
                }
            enough.Set();
        });
        reader.Start();
        enough.Wait(TimeSpan.FromSeconds(30));
        child.Kill(); // SIGKILL: no finally blocks, no dispose, no checkpoint
        child.WaitForExit();
        reader.Join(); // acknowledgements still in the pipe count too

        string errors = await stderr;
        var (tasks, versions) = CrashWriter.Parse(lines);
        Assert.True(tasks.Count >= 40, $"child acknowledged {tasks.Count} updates; stderr: {errors}");
        using var restarted = temp.Open();
        CrashWriter.Verify(restarted, tasks, versions);
        Assert.Equal(restarted.NextTaskId(), restarted.ExpireOpenTasks(Sample.T0).Count); // every task was still open
    }

    private static void AssertState(ServerStore store, PendingUpdate update, float[] w1)
    {
        Assert.Equal("{\"resolved\":true}", store.LoadRun()!.ConfigJson);
        Assert.Equal(2, store.LoadDevices().Count);
        var (version, weights) = store.LoadLatestVersion()!.Value;
        Assert.Equal(1, version);
        Sample.AssertBitwise(w1, weights);
        Sample.AssertBitwise(Sample.Weights(64, 0), store.LoadVersion(0));
        Assert.Equal([0L], store.AppliedTaskIds());
        var pending = Assert.Single(store.LoadPending());
        Sample.AssertSame(update, pending);
        Assert.Equal((TaskState.Delivered, "uploading"), (store.LoadTask(2)!.State, store.LoadTask(2)!.Detail));
        Assert.Equal(100, store.AcknowledgedBytes(2));
        Assert.Equal(Sample.Bytes(100, 1), store.LoadUpload(2));
        Assert.Single(store.LoadMetrics());
        Assert.Equal(1, store.Refusals()["nan"]);
        Assert.Equal(3, store.NextTaskId());
    }

    /// <summary>The dotnet host running these tests (the SDK exports it), else the one on PATH.</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return "dotnet";
    }
}
