using Ftte.Core;
using Ftte.Engine;
using Ftte.Federation.Compression;

namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>
/// How the server side of <see cref="SecureGroups"/> reaches a group's members. A real server queues each message
/// for the device's next poll and returns null: the answer comes back later through <see cref="SecureGroups"/>'s
/// Receive methods. The simulator's <see cref="InProcessMembers"/> runs each member's <see cref="SecureMember"/> in
/// the call and returns its answer at once.
/// </summary>
public interface ISecureTransport
{
    AdvertiseKeys? Invite(IFederationHost host, TaskTicket task, GroupInvitation invitation);
    ShareKeys? Send(IFederationHost host, TaskTicket task, KeysBroadcast keys);
    void Send(IFederationHost host, TaskTicket task, SharesDelivery shares, MaskPlan plan);
    UnmaskResponse? Send(IFederationHost host, TaskTicket task, UnmaskRequest request);
    /// <summary>An update that reached the server in the clear from a simulated device: masked as that device would have. A real server never has one.</summary>
    MaskedInput MaskInProcess(TaskTicket task, ClientUpdate update, IReadOnlyList<WeightRange> ranges);
    /// <summary>Virtual seconds the unmasking round trips answered since the last call took (the slowest member's); 0 when they happened in real time.</summary>
    double TakeRoundTrip();
    /// <summary>The task's group is over: drop what is kept for it.</summary>
    void Forget(long taskId);
}

/// <summary>
/// Simulation: every member's <see cref="SecureMember"/> runs here, seeded per task, answering within the call; each
/// message's size is charged to the host's traffic, and the unmasking round trip to the virtual clock (from the
/// member's declared latency and links). Crypto time is measured on the host for the run notes.
/// </summary>
public sealed class InProcessMembers(ulong seed) : ISecureTransport
{
    private readonly Dictionary<long, SecureMember> _members = [];
    private readonly System.Diagnostics.Stopwatch _crypto = new();
    private double _roundTrip;

    /// <summary>Host time the members' crypto took, all members together.</summary>
    public TimeSpan CryptoTime => _crypto.Elapsed;
    /// <summary>Bytes of the protocol's messages (keys, shares, plans, unmasking), down and up; the masked input is the task's upload.</summary>
    public long BytesDown { get; private set; }
    public long BytesUp { get; private set; }

    private void Charge(IFederationHost host, TaskTicket task, long down, long up)
    {
        BytesDown += down;
        BytesUp += up;
        host.AddTraffic(task.DeviceId, down, up);
    }

    public AdvertiseKeys? Invite(IFederationHost host, TaskTicket task, GroupInvitation invitation)
    {
        _crypto.Start();
        try
        {
            var member = new SecureMember(invitation, Rng.Mix(seed, (ulong)task.TaskId ^ 0x5EC0A66UL));
            _members[task.TaskId] = member;
            var advert = member.Advertise();
            Charge(host, task, 0, advert.WireBytes);
            return advert;
        }
        finally { _crypto.Stop(); }
    }

    public ShareKeys? Send(IFederationHost host, TaskTicket task, KeysBroadcast keys)
    {
        _crypto.Start();
        try
        {
            var shares = _members[task.TaskId].Share(keys);
            Charge(host, task, keys.WireBytes, shares.WireBytes);
            return shares;
        }
        finally { _crypto.Stop(); }
    }

    public void Send(IFederationHost host, TaskTicket task, SharesDelivery shares, MaskPlan plan)
    {
        _crypto.Start();
        try
        {
            _members[task.TaskId].Receive(shares, plan);
            Charge(host, task, shares.WireBytes + MaskPlan.WireBytes, 0);
        }
        finally { _crypto.Stop(); }
    }

    public UnmaskResponse? Send(IFederationHost host, TaskTicket task, UnmaskRequest request)
    {
        _crypto.Start();
        UnmaskResponse response;
        try { response = _members[task.TaskId].Unmask(request); }
        finally { _crypto.Stop(); }
        Charge(host, task, request.WireBytes, response.WireBytes);
        var d = host.Devices[task.DeviceId];
        _roundTrip = Math.Max(_roundTrip, d.LatencySeconds + request.WireBytes * 8.0 / d.DownlinkBitsPerSecond + response.WireBytes * 8.0 / d.UplinkBitsPerSecond);
        return response;
    }

    public MaskedInput MaskInProcess(TaskTicket task, ClientUpdate update, IReadOnlyList<WeightRange> ranges)
    {
        var values = new float[UpdateCompression.CountOf([.. ranges])];
        UpdateCompression.Gather(update.Delta, [.. ranges], values);
        _crypto.Start();
        try
        {
            return _members[task.TaskId].Mask(values, NoiseSource.Seeded(Rng.Mix(seed, (ulong)task.TaskId ^ 0xD15EUL)),
                new Rng(Rng.Mix(seed, (ulong)task.TaskId ^ 0x0BADUL)));
        }
        finally { _crypto.Stop(); }
    }

    public double TakeRoundTrip()
    {
        double t = _roundTrip;
        _roundTrip = 0;
        return t;
    }

    public void Forget(long taskId)
    {
        if (_members.Remove(taskId, out var member)) member.Dispose();
    }
}
