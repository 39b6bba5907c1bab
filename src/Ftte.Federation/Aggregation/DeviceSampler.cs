using Ftte.Core;

namespace Ftte.Federation.Aggregation;

/// <summary>Picks devices for tasks: uniformly at random, without replacement, among idle eligible ones.</summary>
public sealed class DeviceSampler
{
    private readonly List<int> _idle = [];
    private readonly Rng _rng;

    public DeviceSampler(ulong seed) => _rng = new Rng(seed);

    /// <summary>Up to <paramref name="count"/> idle devices that <paramref name="participation"/> admits; fewer when fewer are idle.</summary>
    public IReadOnlyList<int> Sample(IFederationHost host, Participation participation, int count) =>
        Sample(host, participation.IsEligible, count);

    /// <summary>Up to <paramref name="count"/> idle devices that <paramref name="admit"/> accepts; fewer when fewer are idle.</summary>
    public IReadOnlyList<int> Sample(IFederationHost host, Predicate<int> admit, int count)
    {
        host.IdleDevices(_idle);
        _idle.RemoveAll(d => !admit(d));
        if (count >= _idle.Count)
            return [.. _idle];
        // Partial Fisher–Yates: the first `count` entries become a uniform sample.
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_idle);
        for (int i = 0; i < count; i++)
        {
            int j = i + _rng.NextInt(span.Length - i);
            (span[i], span[j]) = (span[j], span[i]);
        }
        return [.. span[..count]];
    }

    /// <summary>
    /// Dispatches <paramref name="spec"/> to random admitted idle devices until <paramref name="target"/> tasks
    /// (as counted by <paramref name="inFlight"/>) are running; asks the host for a wake-up when too few are idle.
    /// Returns the tickets dispatched.
    /// </summary>
    public IReadOnlyList<TaskTicket> Fill(IFederationHost host, Predicate<int> admit, TaskSpec spec, int target, int inFlight) =>
        Fill(host, admit, _ => spec, target, inFlight);

    /// <summary>As <see cref="Fill(IFederationHost, Predicate{int}, TaskSpec, int, int)"/>, with a task chosen per device (nested subsets).</summary>
    public IReadOnlyList<TaskTicket> Fill(IFederationHost host, Predicate<int> admit, Func<int, TaskSpec> specOf, int target, int inFlight)
    {
        int want = target - inFlight;
        if (want <= 0) return [];
        var chosen = Sample(host, admit, want);
        var tickets = new TaskTicket[chosen.Count];
        for (int i = 0; i < chosen.Count; i++) tickets[i] = host.Dispatch(chosen[i], specOf(chosen[i]));
        if (chosen.Count < want) host.WaitForDevices();
        return tickets;
    }
}
