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

    /// <summary>What the strategy decided that a reader of the report should know (e.g. the trainable set chosen); after <see cref="Start"/>.</summary>
    public virtual IReadOnlyList<string> Notes => [];
}
