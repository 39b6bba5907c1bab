namespace Ftte.Federation;

/// <summary>
/// What a strategy may ask of whoever runs it — the simulator (virtual clock) or the real server (wall
/// clock). Strategies never read a clock, open a socket or start a thread: they react to events on
/// <see cref="Strategy"/> and act through this interface, so one strategy object runs unchanged in both.
/// </summary>
public interface IFederationHost
{
    /// <summary>Seconds since the run started (virtual in simulation).</summary>
    double Now { get; }
    GlobalModel Global { get; }
    /// <summary>Every device known, indexed by id.</summary>
    IReadOnlyList<DeviceInfo> Devices { get; }
    /// <summary>Tasks dispatched and not yet finished or failed.</summary>
    int InFlight { get; }

    /// <summary>Fills <paramref name="into"/> with the ids, ascending, of devices that are online now and have no task.</summary>
    void IdleDevices(List<int> into);
    /// <summary>Sends a task to an idle device, starting from the current global version.</summary>
    TaskTicket Dispatch(int deviceId, TaskSpec spec);
    /// <summary>Abandons an in-flight task; its update will never be delivered and the device is freed.</summary>
    void Cancel(long taskId);
    /// <summary>Calls <see cref="Strategy.OnTimer"/> with <paramref name="tag"/> after <paramref name="delaySeconds"/>.</summary>
    void SetTimer(double delaySeconds, int tag);
    /// <summary>Asks for <see cref="Strategy.OnDevicesAvailable"/> when some idle device next comes online.</summary>
    void WaitForDevices();
    /// <summary>The strategy changed <see cref="GlobalModel.Weights"/>: advance the version, record, maybe evaluate.</summary>
    void Commit(int updatesMerged);
    /// <summary>
    /// Bytes a strategy's own protocol exchanged with a device outside its task's download and upload (secure
    /// aggregation's keys, shares and unmasking). The simulator counts them; a real server counts its bytes itself.
    /// </summary>
    void AddTraffic(int deviceId, long bytesDown, long bytesUp) { }
    /// <summary>How secure aggregation reaches devices: a real server's message queues; null: in-process members (simulation).</summary>
    Privacy.SecAgg.ISecureTransport? SecureTransport => null;
}
