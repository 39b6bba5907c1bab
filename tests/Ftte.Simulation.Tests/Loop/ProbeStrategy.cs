using Ftte.Federation;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>
/// Wraps a strategy and the host it is given, recording what the simulator does without changing it:
/// dispatch times, commits, failures, and the host itself (whose global model outlives the run).
/// <paramref name="beforeCommit"/>, when given, runs on the global model before each commit (a test's extra change to the weights).
/// </summary>
internal sealed class ProbeStrategy(Strategy inner, Action<GlobalModel>? beforeCommit = null) : Strategy
{
    private ProbeHost? _host;

    public override string Name => inner.Name;
    /// <summary>The simulator's host; its <see cref="IFederationHost.Global"/> holds the final weights after the run.</summary>
    public IFederationHost Host => _host?.Inner ?? throw new InvalidOperationException("The run has not started.");
    public List<(double Time, int Device)> Dispatches => _host!.Dispatches;
    public int Commits => _host!.Commits;
    /// <summary>Tasks the strategy cancelled (deadline, over-selection surplus).</summary>
    public int Cancels => _host!.Cancels;
    public List<TaskFailure> Failures { get; } = [];

    public override void Start(IFederationHost host)
    {
        _host = new ProbeHost(host, beforeCommit);
        inner.Start(_host);
        Participation = inner.Participation;
    }

    public override void OnDevicesAvailable(IFederationHost host) => inner.OnDevicesAvailable(_host!);
    public override UpdateVerdict OnUpdate(IFederationHost host, ClientUpdate update) => inner.OnUpdate(_host!, update);

    public override void OnTaskFailed(IFederationHost host, TaskFailure failure)
    {
        Failures.Add(failure);
        inner.OnTaskFailed(_host!, failure);
    }

    public override void OnTimer(IFederationHost host, int tag) => inner.OnTimer(_host!, tag);

    private sealed class ProbeHost(IFederationHost inner, Action<GlobalModel>? beforeCommit) : IFederationHost
    {
        public IFederationHost Inner => inner;
        public List<(double Time, int Device)> Dispatches { get; } = [];
        public int Commits { get; private set; }
        public int Cancels { get; private set; }

        public double Now => inner.Now;
        public GlobalModel Global => inner.Global;
        public IReadOnlyList<DeviceInfo> Devices => inner.Devices;
        public int InFlight => inner.InFlight;
        public void IdleDevices(List<int> into) => inner.IdleDevices(into);

        public TaskTicket Dispatch(int deviceId, TaskSpec spec)
        {
            Dispatches.Add((inner.Now, deviceId));
            return inner.Dispatch(deviceId, spec);
        }

        public void Cancel(long taskId)
        {
            Cancels++;
            inner.Cancel(taskId);
        }
        public void SetTimer(double delaySeconds, int tag) => inner.SetTimer(delaySeconds, tag);
        public void WaitForDevices() => inner.WaitForDevices();

        public void Commit(int updatesMerged)
        {
            Commits++;
            beforeCommit?.Invoke(inner.Global);
            inner.Commit(updatesMerged);
        }
    }
}
