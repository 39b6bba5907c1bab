namespace Ftte.Federation;

/// <summary>
/// Which devices a strategy lets take part. A device can take a task only when the task's planned peak
/// training memory fits its memory; strategies that need the full model therefore leave weak devices,
/// and their data, out — the report states how many and how much.
/// </summary>
public sealed class Participation
{
    // Grows when a device joins a running federation (deployment); fixed in simulation.
    private readonly List<bool>? _eligible;

    private int _admitted;
    // Devices that may no longer take part although their memory fits (a DP participation cap): they leave the pool.
    private readonly HashSet<int> _retired = [];

    private Participation(bool[]? eligible, long requiredBytes, int excluded, long excludedSamples, long totalSamples, bool ignoredMemory, int devices = 0)
    {
        _admitted = devices;
        _eligible = eligible is null ? null : [.. eligible];
        RequiredBytes = requiredBytes;
        ExcludedDevices = excluded;
        ExcludedSamples = excludedSamples;
        TotalSamples = totalSamples;
        IgnoredMemory = ignoredMemory;
    }

    /// <summary>No memory check and no counts (a fresh instance: <see cref="Admit"/> mutates).</summary>
    public static Participation Everyone => new(null, 0, 0, 0, 0, false);

    /// <summary>Planned peak memory a device needs (0 when not checked).</summary>
    public long RequiredBytes { get; }
    public int ExcludedDevices { get; private set; }
    public long ExcludedSamples { get; private set; }
    public long TotalSamples { get; private set; }
    /// <summary>True when the memory check was switched off for a like-for-like comparison.</summary>
    public bool IgnoredMemory { get; }
    /// <summary>Devices that may take part (the population a DP step samples from); retired devices are not counted.</summary>
    public int EligibleDevices => (_eligible is null ? _admitted : _eligible.Count(e => e)) - _retired.Count;
    /// <summary>Devices taken out of the pool by <see cref="Retire"/>.</summary>
    public int RetiredDevices => _retired.Count;
    public double ExcludedDataShare => TotalSamples == 0 ? 0 : (double)ExcludedSamples / TotalSamples;

    public bool IsEligible(int deviceId) => (_eligible is null || (deviceId < _eligible.Count && _eligible[deviceId])) && !_retired.Contains(deviceId);

    /// <summary>Whether <see cref="Retire"/> took this device out.</summary>
    public bool IsRetired(int deviceId) => _retired.Contains(deviceId);

    /// <summary>
    /// Takes an eligible device out of the pool for the rest of the run (it has used up its DP participation cap): it is no
    /// longer dispatched to and no longer counted in <see cref="EligibleDevices"/>. A device that is not eligible is left as is.
    /// </summary>
    public void Retire(int deviceId)
    {
        if (IsEligible(deviceId)) _retired.Add(deviceId);
    }

    /// <summary>
    /// A device that joined after the strategy started (deployment): the same memory rule decides. Ids are dense,
    /// so <paramref name="device"/> must be the next id.
    /// </summary>
    public void Admit(DeviceInfo device)
    {
        bool fits = device.MemoryBytes >= RequiredBytes;
        TotalSamples += device.TrainSamples;
        _admitted++;
        if (!fits && !IgnoredMemory) { ExcludedDevices++; ExcludedSamples += device.TrainSamples; }
        if (_eligible is null) return;
        if (device.Id != _eligible.Count)
            throw new ArgumentException($"Device {device.Id} joined out of order: the next id is {_eligible.Count}.", nameof(device));
        _eligible.Add(fits);
    }

    /// <summary>Devices whose memory holds <paramref name="requiredBytes"/>; with <paramref name="ignoreMemory"/> everyone, but the shortfall is still counted.</summary>
    public static Participation ByMemory(IReadOnlyList<DeviceInfo> devices, long requiredBytes, bool ignoreMemory)
    {
        var eligible = new bool[devices.Count];
        int excluded = 0;
        long excludedSamples = 0, total = 0;
        foreach (var d in devices)
        {
            bool fits = d.MemoryBytes >= requiredBytes;
            eligible[d.Id] = fits || ignoreMemory;
            total += d.TrainSamples;
            if (!fits) { excluded++; excludedSamples += d.TrainSamples; }
        }
        return ignoreMemory
            ? new Participation(null, requiredBytes, 0, 0, total, true, devices.Count)
            : new Participation(eligible, requiredBytes, excluded, excludedSamples, total, false);
    }

    public override string ToString() => (IgnoredMemory
        ? $"memory check off (needs {Ftte.Core.ByteSize.Format(RequiredBytes)})"
        : ExcludedDevices == 0 ? "all devices fit"
        : $"{ExcludedDevices} device(s) cannot fit {Ftte.Core.ByteSize.Format(RequiredBytes)}, holding {ExcludedDataShare:P1} of the data, left out")
        + (_retired.Count > 0 ? $"; {_retired.Count} device(s) retired at the participation cap" : "");
}
