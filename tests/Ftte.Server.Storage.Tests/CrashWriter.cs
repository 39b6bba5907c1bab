namespace Ftte.Server.Storage.Tests;

/// <summary>
/// The server's write pattern, run until stopped or killed: dispatch a task, buffer its update, and every fifth
/// update commit a new version that applies the buffer. Each step is reported only after its call returned —
/// the promise a server makes to a device. <see cref="Verify"/> checks a store left behind by a crash.
/// </summary>
internal static class CrashWriter
{
    public const int ModelLength = 256;
    private const int UpdatesPerVersion = 5;

    public static void Run(ServerStore store, Action<string> acknowledge, Func<bool> stop)
    {
        int version = store.LoadLatestVersion()!.Value.Version;
        for (long task = store.NextTaskId(); !stop(); task++)
        {
            store.AddTask(Sample.Task(task, 0));
            store.AddPending(Update(task));
            acknowledge($"task {task} ok");
            if (task % UpdatesPerVersion == UpdatesPerVersion - 1)
            {
                version++;
                store.CommitVersion(version, Sample.Weights(ModelLength, version), Sample.T0.AddSeconds(version), null, keepVersions: 1000);
                acknowledge($"version {version} ok");
            }
        }
    }

    public static PendingUpdate Update(long task) => Sample.Update(task, 0, ModelLength, seed: 5);

    /// <summary>Parses acknowledgements; a line cut short by the kill has no " ok" and is ignored.</summary>
    public static (List<long> Tasks, List<int> Versions) Parse(IEnumerable<string> lines)
    {
        var tasks = new List<long>();
        var versions = new List<int>();
        foreach (var line in lines)
        {
            var parts = line.Split(' ');
            if (parts is ["task", var t, "ok"]) tasks.Add(long.Parse(t, System.Globalization.CultureInfo.InvariantCulture));
            else if (parts is ["version", var v, "ok"]) versions.Add(int.Parse(v, System.Globalization.CultureInfo.InvariantCulture));
        }
        return (tasks, versions);
    }

    /// <summary>
    /// Everything acknowledged is there, intact, and the store is consistent: version v applied exactly the
    /// updates of tasks below 5·v, the rest are pending, and no update is both.
    /// </summary>
    public static void Verify(ServerStore store, IReadOnlyCollection<long> ackedTasks, IReadOnlyCollection<int> ackedVersions)
    {
        var pending = store.LoadPending();
        var applied = store.AppliedTaskIds();
        var (latest, weights) = store.LoadLatestVersion()!.Value;

        Assert.All(ackedTasks, t => Assert.True(applied.Contains(t) || pending.Any(p => p.TaskId == t), $"acknowledged task {t} was lost"));
        Assert.True(ackedVersions.Count == 0 || latest >= ackedVersions.Max(), $"acknowledged version {ackedVersions.DefaultIfEmpty().Max()} was lost");
        Sample.AssertBitwise(Sample.Weights(ModelLength, latest), weights);

        long appliedBelow = (long)latest * UpdatesPerVersion;
        Assert.Equal(Enumerable.Range(0, (int)appliedBelow).Select(i => (long)i), applied);
        Assert.Equal(Enumerable.Range((int)appliedBelow, pending.Count).Select(i => (long)i), pending.Select(p => p.TaskId));
        foreach (var p in pending) Sample.AssertSame(Update(p.TaskId), p);
    }
}
