using Ftte.Simulation.Fleet;

namespace Ftte.Simulation.Clock;

/// <summary>
/// How long a task takes on a device, phase by phase:
/// latency + downloaded bytes·8 / downlink + training FLOPs / compute + uploaded bytes·8 / uplink.
/// FLOPs are the engine planner's exact count for the task's trainable set × samples × epochs; bytes are
/// the serialized payload. Links and compute are the device's declared effective rates.
/// </summary>
public readonly record struct TaskTimes(double Latency, double Download, double Training, double Upload)
{
    public double Total => Latency + Download + Training + Upload;
    /// <summary>Offsets from dispatch at which each phase ends.</summary>
    public double DownloadDone => Latency + Download;
    public double TrainingDone => DownloadDone + Training;
    public double UploadDone => TrainingDone + Upload;

    public static TaskTimes For(DeviceProfile device, long bytesDown, double trainingFlops, long bytesUp) => new(
        device.LatencySeconds,
        bytesDown * 8.0 / device.DownlinkBitsPerSecond,
        trainingFlops / device.FlopsPerSecond,
        bytesUp * 8.0 / device.UplinkBitsPerSecond);
}
