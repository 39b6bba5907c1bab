namespace Ftte.Federation;

/// <summary>
/// What the server knows about a device: its declared capabilities (in deployment, sent at enrolment;
/// in simulation, its profile) and how much local training data it holds. Strategies select and size
/// tasks from this alone.
/// </summary>
/// <param name="Id">Dense id, 0..N−1 in the fleet.</param>
/// <param name="Tier">Tier name (e.g. "sensor", "flagship"); reports group by it.</param>
/// <param name="MemoryBytes">Memory available for training: a task's planned peak must fit in it.</param>
/// <param name="FlopsPerSecond">Effective training compute.</param>
/// <param name="DownlinkBitsPerSecond">Server → device bandwidth.</param>
/// <param name="UplinkBitsPerSecond">Device → server bandwidth.</param>
/// <param name="LatencySeconds">Fixed cost of one task's messaging.</param>
/// <param name="TrainSamples">Local training samples.</param>
public sealed record DeviceInfo(int Id, string Tier, long MemoryBytes, double FlopsPerSecond,
    double DownlinkBitsPerSecond, double UplinkBitsPerSecond, double LatencySeconds, int TrainSamples);
