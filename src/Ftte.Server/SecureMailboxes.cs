using Ftte.Engine;
using Ftte.Federation;
using Ftte.Federation.Privacy.SecAgg;
using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server;

/// <summary>
/// The server's <see cref="ISecureTransport"/>: what a group has to say to a member waits in that task's mailbox until
/// the device's next SecureAggregation poll takes it; the device's answers come back through that call. Used under the
/// server's lock, like the strategy.
/// </summary>
internal sealed class SecureMailboxes : ISecureTransport
{
    internal sealed class Mailbox(int deviceId)
    {
        public int DeviceId { get; } = deviceId;
        /// <summary>Messages not yet acknowledged, oldest first: a reply lost on the way is sent again on the next poll.</summary>
        public List<V1.SecAggReply> Unacknowledged { get; } = [];
        private long _nextSeq = 1;
        public TaskCompletionSource Signal { get; private set; } = NewSignal();
        /// <summary>The task's part is over; once the device has heard so, the mailbox goes.</summary>
        public bool Done { get; set; }

        public void Post(V1.SecAggReply reply)
        {
            reply.Seq = _nextSeq++;
            Unacknowledged.Add(reply);
            Signal.TrySetResult();
        }

        /// <summary>Drops what the device has taken (seq ≤ <paramref name="ack"/>); the next message to send, if any.</summary>
        public V1.SecAggReply? Next(long ack)
        {
            Unacknowledged.RemoveAll(m => m.Seq <= ack);
            return Unacknowledged.Count > 0 ? Unacknowledged[0] : null;
        }

        /// <summary>A fresh signal for the next long poll (the last one may have fired already).</summary>
        public Task NextSignal()
        {
            if (Signal.Task.IsCompleted) Signal = NewSignal();
            return Signal.Task;
        }

        private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Dictionary<long, Mailbox> _boxes = [];

    public bool TryGet(long taskId, out Mailbox box) => _boxes.TryGetValue(taskId, out box!);

    public Mailbox Open(long taskId, int deviceId)
    {
        if (!_boxes.TryGetValue(taskId, out var box)) _boxes[taskId] = box = new Mailbox(deviceId);
        return box;
    }

    public void Remove(long taskId) => _boxes.Remove(taskId);

    /// <summary>The run ended or the server shuts down: wake every waiting poll.</summary>
    public void WakeAll()
    {
        foreach (var box in _boxes.Values) box.Signal.TrySetResult();
    }

    public AdvertiseKeys? Invite(IFederationHost host, TaskTicket task, GroupInvitation invitation)
    {
        Open(task.TaskId, task.DeviceId).Post(new V1.SecAggReply
        {
            Invitation = new V1.SecAggInvitation { Parameters = SecureWire.ToWire(invitation.Parameters), MemberIndex = invitation.MemberIndex },
        });
        return null;
    }

    public ShareKeys? Send(IFederationHost host, TaskTicket task, KeysBroadcast keys)
    {
        Open(task.TaskId, task.DeviceId).Post(new V1.SecAggReply { Keys = SecureWire.ToWire(keys) });
        return null;
    }

    public void Send(IFederationHost host, TaskTicket task, SharesDelivery shares, MaskPlan plan) =>
        Open(task.TaskId, task.DeviceId).Post(new V1.SecAggReply { Delivery = SecureWire.ToWire(shares, plan) });

    public UnmaskResponse? Send(IFederationHost host, TaskTicket task, UnmaskRequest request)
    {
        Open(task.TaskId, task.DeviceId).Post(new V1.SecAggReply { UnmaskRequest = SecureWire.ToWire(request) });
        return null;
    }

    public MaskedInput MaskInProcess(TaskTicket task, ClientUpdate update, IReadOnlyList<WeightRange> ranges) =>
        throw new InvalidOperationException($"Task {task.TaskId} is under secure aggregation: its update must arrive masked (codec \"{SecureWire.MaskedCodec}\"), never in the clear.");

    public double TakeRoundTrip() => 0;

    public void Forget(long taskId)
    {
        if (!_boxes.TryGetValue(taskId, out var box) || box.Done) return;
        box.Done = true;
        box.Post(new V1.SecAggReply { Done = new V1.SecAggDone { Detail = "this task's part in its group is over" } });
    }
}
