using Microsoft.Data.Sqlite;

namespace Ftte.Server.Storage.Tests;

/// <summary>A temporary directory holding one state file (in a subdirectory, so Open must create it).</summary>
internal sealed class TempStore : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("ftte-store-").FullName;
    public string File => Path.Combine(Directory, "state", "server.db");

    public ServerStore Open() => ServerStore.Open(File);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { } // a deliberately leaked handle in a crash test may still hold it on some systems
    }
}

internal static class Sample
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static StoredDevice Device(int i) => new(
        Id: 999, Name: $"phone-{i}", Tier: i % 2 == 0 ? "low" : "high", MemoryBytes: (512L << 20) * (i + 1),
        FlopsPerSecond: 1.5e9 * (i + 1), DownlinkBitsPerSecond: 2e7 + i, UplinkBitsPerSecond: 5e6 + i,
        LatencySeconds: 0.05 * (i + 1), TrainSamples: 100 + i, TokenHash: Bytes(32, i),
        TokenExpires: T0.AddHours(1 + i), EnrolledAt: T0.AddSeconds(i), LastSeen: T0.AddSeconds(i));

    public static StoredTask Task(long id, int device, int baseVersion = 0) =>
        new(id, device, baseVersion, Trainable: "last-2", SpecJson: $"{{\"task\":{id},\"epochs\":1}}",
            State: TaskState.Dispatched, DispatchedAt: T0.AddSeconds(10 + id));

    public static PendingUpdate Update(long taskId, int device, int length = 64, int seed = 0) => new(
        taskId, device, BaseVersion: 0, Staleness: (int)(taskId % 3), Samples: 50 + (int)taskId,
        TrainLoss: 0.5 + taskId, TrainAccuracy: 0.25, ReceivedAt: 12.5 + taskId, Trainable: "last-2",
        Delta: SparseDelta(new Random(seed * 7919 + (int)taskId), length));

    /// <summary>Zeros with a few random nonzero runs, plus the awkward values (-0.0, subnormals, NaN payloads).</summary>
    public static float[] SparseDelta(Random rng, int length)
    {
        var delta = new float[length];
        if (length == 0) return delta;
        int runs = rng.Next(0, 4);
        for (int r = 0; r < runs; r++)
        {
            int start = rng.Next(length), count = rng.Next(1, Math.Max(2, length / 4));
            for (int i = start; i < Math.Min(length, start + count); i++)
                delta[i] = rng.Next(6) switch
                {
                    0 => 0f, // zeros inside a run
                    1 => -0f,
                    2 => BitConverter.Int32BitsToSingle(rng.Next(1, 0x007FFFFF)), // subnormal
                    3 => BitConverter.Int32BitsToSingle(unchecked((int)0xFFC00001u) ^ rng.Next(0, 0x3FFFFF)), // NaN payload
                    _ => (float)(rng.NextDouble() * 2 - 1),
                };
        }
        return delta;
    }

    public static float[] Weights(int length, int seed)
    {
        var rng = new Random(seed);
        var w = new float[length];
        for (int i = 0; i < length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1);
        if (length > 3) { w[0] = -0f; w[1] = float.Epsilon; w[2] = float.NaN; w[3] = float.NegativeInfinity; }
        return w;
    }

    public static byte[] Bytes(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>A store with a run, version 0, <paramref name="devices"/> devices and tasks 0..tasks-1 on device 0.</summary>
    public static ServerStore Seed(ServerStore store, int devices = 2, int tasks = 0, int modelLength = 64)
    {
        store.CreateRun("run-1", "{\"strategy\":\"ftte\"}", Bytes(32, 1), T0);
        store.SaveVersion(0, Weights(modelLength, 0), T0);
        for (int i = 0; i < devices; i++) store.AddDevice(Device(i));
        for (int t = 0; t < tasks; t++) store.AddTask(Task(t, t % devices));
        return store;
    }

    public static void AssertBitwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"element {i}: expected bits {BitConverter.SingleToInt32Bits(expected[i]):X8}, " +
                            $"got {BitConverter.SingleToInt32Bits(actual[i]):X8}");
    }

    public static void AssertSame(PendingUpdate expected, PendingUpdate actual)
    {
        Assert.Equal(expected, actual, PendingComparer.Instance);
        AssertBitwise(expected.Delta, actual.Delta);
    }

    private sealed class PendingComparer : IEqualityComparer<PendingUpdate>
    {
        public static readonly PendingComparer Instance = new();
        public bool Equals(PendingUpdate? a, PendingUpdate? b) =>
            a is not null && b is not null && a.TaskId == b.TaskId && a.DeviceId == b.DeviceId &&
            a.BaseVersion == b.BaseVersion && a.Staleness == b.Staleness && a.Samples == b.Samples &&
            a.TrainLoss.Equals(b.TrainLoss) && a.TrainAccuracy.Equals(b.TrainAccuracy) &&
            a.ReceivedAt.Equals(b.ReceivedAt) && a.Trainable == b.Trainable;
        public int GetHashCode(PendingUpdate u) => u.TaskId.GetHashCode();
    }
}
