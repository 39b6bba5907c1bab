namespace Ftte.Federation;

/// <summary>
/// A federated strategy: decides whom to dispatch, what to send and how to merge (Flower's split between
/// strategy and loop). Event-driven, so asynchronous strategies are not squeezed into rounds: the host
/// calls <see cref="Start"/> once, then one handler per event, in time order, on one thread.
/// </summary>
public abstract class Strategy
{
    /// <summary>Display name, e.g. "FedBuff(M=50,K=10)".</summary>
    public abstract string Name { get; }

    /// <summary>Who may take part and who was left out (memory), known after <see cref="Start"/>.</summary>
    public Participation Participation { get; protected set; } = Participation.Everyone;

    /// <summary>The run begins: the global model is initialised and devices are known.</summary>
    public abstract void Start(IFederationHost host);

    /// <summary>Some device became idle or came online: a chance to dispatch.</summary>
    public virtual void OnDevicesAvailable(IFederationHost host) { }

    /// <summary>An update arrived. Merge or buffer it (then <see cref="IFederationHost.Commit"/> on a server step) and say what happened to it.</summary>
    public abstract UpdateVerdict OnUpdate(IFederationHost host, ClientUpdate update);

    /// <summary>A task will produce no update.</summary>
    public virtual void OnTaskFailed(IFederationHost host, TaskFailure failure) { }

    /// <summary>A timer set through <see cref="IFederationHost.SetTimer"/> fired.</summary>
    public virtual void OnTimer(IFederationHost host, int tag) { }

    /// <summary>
    /// Deployment only: a device enrolled after <see cref="Start"/> (its id is the next dense id, already in
    /// <see cref="IFederationHost.Devices"/>). The default applies the memory rule and offers it work.
    /// </summary>
    public virtual void OnDeviceJoined(IFederationHost host, DeviceInfo device)
    {
        Participation.Admit(device);
        OnDevicesAvailable(host);
    }

    /// <summary>
    /// Deployment only, after a server restart and <see cref="Start"/>: the updates accepted before the crash but
    /// not yet applied (the host persisted them; its durability rule is that an accepted update is never lost),
    /// in acceptance order. The default offers each to <see cref="OnUpdate"/> again, which rebuilds a buffer;
    /// round-based strategies override it, because the tasks of the interrupted round no longer exist.
    /// </summary>
    public virtual void Restore(IFederationHost host, IReadOnlyList<ClientUpdate> accepted)
    {
        foreach (var update in accepted) OnUpdate(host, update);
    }

    /// <summary>
    /// State a server must keep with every committed version to resume exactly (e.g. the DP accountant, so that released
    /// steps stay counted after a restart); null when there is none. Called after each server step.
    /// </summary>
    public virtual string? SaveState() => null;

    /// <summary>Deployment only, after a restart and <see cref="Start"/> (before <see cref="Restore"/>): continue from <see cref="SaveState"/>.</summary>
    public virtual void RestoreState(string state) { }

    /// <summary>Client-level DP spent so far (ε at δ after the last server step), null when the strategy runs without DP.</summary>
    public virtual Privacy.PrivacySpent? PrivacySpent => null;

    /// <summary>
    /// Client-level DP without the sampling assumption: ε of the device that joined the most released steps so far (with
    /// a participation cap, at most the cap's bound); null without DP or before the first step.
    /// </summary>
    public virtual Privacy.PrivacySpent? PrivacyPerDevice => null;

    /// <summary>
    /// Set when the strategy can make no more progress and the run should end (e.g. its privacy budget is spent); hosts
    /// check it after every event and stop with this reason.
    /// </summary>
    public string? StopReason { get; protected set; }

    /// <summary>What the strategy decided that a reader of the report should know (e.g. the trainable set chosen); after <see cref="Start"/>.</summary>
    public virtual IReadOnlyList<string> Notes => [];

    /// <summary>The strategy's secure aggregation groups, when it sums updates under SecAgg (a server routes the protocol's messages to them); null otherwise.</summary>
    public virtual Privacy.SecAgg.SecureGroups? SecureAggregation => null;
}
