using Ftte.Core;

namespace Ftte.Federation.Aggregation;

/// <summary>Picks devices for tasks: uniformly at random, without replacement, among idle eligible ones.</summary>
public sealed class DeviceSampler
{
    private readonly List<int> _idle = [];
    private readonly Rng _rng;

    public DeviceSampler(ulong seed) => _rng = new Rng(seed);

    /// <summary>Up to <paramref name="count"/> idle devices that <paramref name="participation"/> admits; fewer when fewer are idle.</summary>
    public IReadOnlyList<int> Sample(IFederationHost host, Participation participation, int count)
    {
        host.IdleDevices(_idle);
        _idle.RemoveAll(d => !participation.IsEligible(d));
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
}
