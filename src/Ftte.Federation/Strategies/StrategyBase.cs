using Ftte.Engine;
using Ftte.Engine.Planning;
using Ftte.Federation.Aggregation;

namespace Ftte.Federation.Strategies;

/// <summary>
/// What the baseline strategies share: one task spec for every device (the trainable set, full-model
/// broadcast), the memory check that decides participation, and random device sampling.
/// </summary>
public abstract class StrategyBase : Strategy
{
    private readonly string _trainable;
    private readonly bool _ignoreMemory;

    protected StrategyBase(LocalTraining local, string trainable, bool ignoreMemory, ulong seed)
    {
        Local = local;
        _trainable = trainable;
        _ignoreMemory = ignoreMemory;
        Sampler = new DeviceSampler(seed);
    }

    public LocalTraining Local { get; }
    protected DeviceSampler Sampler { get; }
    /// <summary>The task every device gets; set in <see cref="Start"/>.</summary>
    protected TaskSpec Spec { get; private set; } = null!;
    protected DeltaAccumulator Accumulator { get; private set; } = null!;
    /// <summary>The training plan of <see cref="Spec"/>: its peak is what a device must hold.</summary>
    public MemoryPlan Plan { get; private set; } = null!;

    public override void Start(IFederationHost host)
    {
        var model = host.Global.Model;
        Spec = new TaskSpec(TrainableSet.Parse(model, _trainable), Local);
        Plan = MemoryPlanner.PlanTraining(model, Spec.Trainable, Local.BatchSize, Local.Optimizer);
        Participation = Participation.ByMemory(host.Devices, Plan.PeakBytes, _ignoreMemory);
        Accumulator = new DeltaAccumulator(model.ParameterCount);
        if (!_ignoreMemory && Participation.ExcludedDevices == host.Devices.Count)
            throw new InvalidOperationException(
                $"{Name}: no device can hold the training plan ({Ftte.Core.ByteSize.Format(Plan.PeakBytes)} peak for '{_trainable}', batch {Local.BatchSize}); " +
                "use a smaller trainable set or batch, a fleet with more memory, or switch the memory check off (ignoreMemory).");
        OnStart(host);
    }

    protected abstract void OnStart(IFederationHost host);

    /// <summary>
    /// Tasks an asynchronous strategy keeps in flight (M); null for round-based strategies. When set,
    /// every freed device, failure and arrival refills to M, so the server never waits for the slowest device.
    /// </summary>
    protected virtual int? TargetInFlight => null;

    public override void OnDevicesAvailable(IFederationHost host) => Refill(host);
    public override void OnTaskFailed(IFederationHost host, TaskFailure failure) => Refill(host);

    /// <summary>Tops the in-flight tasks up to <see cref="TargetInFlight"/>, when the strategy has one.</summary>
    protected void Refill(IFederationHost host)
    {
        if (TargetInFlight is { } target) FillTo(host, target);
    }

    /// <summary>Dispatches to random idle eligible devices until <paramref name="target"/> tasks are in flight; asks to be woken when none is idle.</summary>
    protected int FillTo(IFederationHost host, int target)
    {
        var tickets = Sampler.Fill(host, d => Participation.IsEligible(d) && MayDispatch(d), Spec, target, host.InFlight);
        foreach (var t in tickets) OnDispatched(host, t);
        return tickets.Count;
    }

    /// <summary>A further condition on the devices <see cref="FillTo"/> picks (secure aggregation: once per group).</summary>
    protected virtual bool MayDispatch(int deviceId) => true;
    /// <summary>Told about each task <see cref="FillTo"/> dispatched.</summary>
    protected virtual void OnDispatched(IFederationHost host, TaskTicket ticket) { }

    /// <summary>Every task from now on uploads masked (secure aggregation); call from OnStart.</summary>
    protected void UseMaskedUploads(MaskedUpload masked) => Spec = Spec with { Masked = masked };
}
