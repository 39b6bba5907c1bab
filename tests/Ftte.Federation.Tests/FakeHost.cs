using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Federation;

namespace Ftte.Federation.Tests;

/// <summary>
/// A scripted host: the test decides what arrives when. Records every dispatch, cancel, timer and commit
/// so strategy decisions can be asserted without a simulator.
/// </summary>
internal sealed class FakeHost : IFederationHost
{
    private long _nextTask;

    /// <param name="model">The global model; default a small 8-input MLP.</param>
    /// <param name="memoryOf">Memory of device i; default <paramref name="memory"/> for all.</param>
    public FakeHost(int devices, long memory = 64L << 20, int samples = 100, Model? model = null, Func<int, long>? memoryOf = null, Func<int, double>? flopsOf = null)
    {
        model ??= BuiltInModels.Mlp(inputs: 8, classes: 3, seed: 1);
        Global = new GlobalModel(model);
        Devices = [.. Enumerable.Range(0, devices).Select(i => new DeviceInfo(i, "t", memoryOf?.Invoke(i) ?? memory, flopsOf?.Invoke(i) ?? 1e9, 1e6, 1e6, 0.1, samples + i))];
        Online = [.. Enumerable.Repeat(true, devices)];
    }

    public double Now { get; set; }
    public GlobalModel Global { get; }
    public IReadOnlyList<DeviceInfo> Devices { get; }
    public bool[] Online { get; }
    public Dictionary<long, TaskTicket> Active { get; } = [];
    public List<TaskTicket> Dispatched { get; } = [];
    public List<long> Cancelled { get; } = [];
    public List<(double Delay, int Tag)> Timers { get; } = [];
    public List<int> Commits { get; } = [];
    public int WaitRequests { get; private set; }
    public int InFlight => Active.Count;

    public void IdleDevices(List<int> into)
    {
        into.Clear();
        var busy = Active.Values.Select(t => t.DeviceId).ToHashSet();
        for (int d = 0; d < Devices.Count; d++)
            if (Online[d] && !busy.Contains(d)) into.Add(d);
    }

    public TaskTicket Dispatch(int deviceId, TaskSpec spec)
    {
        if (Active.Values.Any(t => t.DeviceId == deviceId)) throw new InvalidOperationException($"device {deviceId} is busy");
        var ticket = new TaskTicket(_nextTask++, deviceId, Global.Version, Now, spec);
        Active[ticket.TaskId] = ticket;
        Dispatched.Add(ticket);
        return ticket;
    }

    public void Cancel(long taskId)
    {
        Active.Remove(taskId);
        Cancelled.Add(taskId);
    }

    public void SetTimer(double delaySeconds, int tag) => Timers.Add((delaySeconds, tag));
    public void WaitForDevices() => WaitRequests++;

    public void Commit(int updatesMerged)
    {
        Global.Advance();
        Commits.Add(updatesMerged);
    }

    /// <summary>Completes a task with a constant delta on its trained coordinates and delivers it.</summary>
    public UpdateVerdict Deliver(Strategy strategy, TaskTicket ticket, float value, int? samples = null)
    {
        Active.Remove(ticket.TaskId);
        var model = Global.Model;
        var ranges = ticket.Spec.Trainable.Ranges(model);
        var delta = new float[model.ParameterCount];
        foreach (var r in ranges) Array.Fill(delta, value, r.Offset, r.Length);
        var update = new ClientUpdate
        {
            Task = ticket,
            Delta = delta,
            BaseWeights = Global.Weights.ToArray(),
            Ranges = ranges,
            Samples = samples ?? Devices[ticket.DeviceId].TrainSamples,
            ReceivedAt = Now,
            Staleness = Global.Version - ticket.BaseVersion,
        };
        return strategy.OnUpdate(this, update);
    }

    public void Fail(Strategy strategy, TaskTicket ticket, FailureReason reason = FailureReason.Dropout)
    {
        Active.Remove(ticket.TaskId);
        strategy.OnTaskFailed(this, new TaskFailure(ticket, reason, Now));
    }

    public static Model SmallModel() => BuiltInModels.Mlp(inputs: 8, classes: 3, seed: 1);
}
