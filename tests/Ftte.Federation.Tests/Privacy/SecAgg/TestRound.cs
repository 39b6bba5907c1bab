using Ftte.Core;
using Ftte.Federation.Privacy.SecAgg;

namespace Ftte.Federation.Tests.Privacy.SecAgg;

/// <summary>Who stops answering before which step of a round.</summary>
internal sealed record DropPlan
{
    public static DropPlan None { get; } = new();
    public int[] BeforeAdvertise { get; init; } = [];
    public int[] BeforeShare { get; init; } = [];
    public int[] BeforeInput { get; init; } = [];
    public int[] BeforeUnmask { get; init; } = [];
}

/// <summary>
/// One SecAgg round in process: a server and n seeded clients, driven step by step so a test can intercept or
/// alter any message. <see cref="Run"/> drives a whole round with a drop plan.
/// </summary>
internal sealed class TestRound : IDisposable
{
    public TestRound(SecAggParameters parameters, ulong seed = 1)
    {
        Parameters = parameters;
        Server = new ServerSession(parameters);
        Clients = [.. Enumerable.Range(0, parameters.ClientCount).Select(i => new ClientSession(parameters, i, Rng.Mix(seed, (ulong)i)))];
    }

    public SecAggParameters Parameters { get; }
    public ServerSession Server { get; }
    public ClientSession[] Clients { get; }

    public static SecAggParameters Complete(int clients, int threshold, int length = 64, long round = 7) =>
        SecAggParameters.Complete(round, clients, length, threshold);

    public static SecAggParameters Sparse(int clients, int neighbours, int threshold, int length = 64, long round = 7, ulong graphSeed = 11) => new()
    {
        RoundId = round, ClientCount = clients, VectorLength = length, Neighbours = neighbours, Threshold = threshold, GraphSeed = graphSeed,
    };

    /// <summary>Random ring elements, one vector per client.</summary>
    public static uint[][] RandomInputs(int clients, int length, ulong seed = 3)
    {
        var rng = new Rng(seed);
        return [.. Enumerable.Range(0, clients).Select(_ => Enumerable.Range(0, length).Select(_ => (uint)rng.NextUInt64()).ToArray())];
    }

    public static uint[] PlainSum(uint[][] inputs, IEnumerable<int> clients)
    {
        var sum = new uint[inputs[0].Length];
        foreach (int c in clients)
            for (int i = 0; i < sum.Length; i++) sum[i] += inputs[c][i];
        return sum;
    }

    public IReadOnlyList<KeysBroadcast> Advertise(DropPlan drops)
    {
        foreach (var client in Clients)
            if (!drops.BeforeAdvertise.Contains(client.ClientId)) Server.Receive(client.AdvertiseKeys());
        return Server.CloseAdvertising();
    }

    public IReadOnlyList<SharesDelivery> Share(IReadOnlyList<KeysBroadcast> broadcasts, DropPlan drops)
    {
        foreach (var b in broadcasts)
            if (!drops.BeforeShare.Contains(b.RecipientId)) Server.Receive(Clients[b.RecipientId].ShareKeys(b));
        return Server.CloseSharing();
    }

    public IReadOnlyList<UnmaskRequest> Mask(IReadOnlyList<SharesDelivery> deliveries, uint[][] inputs, DropPlan drops)
    {
        foreach (var d in deliveries)
        {
            if (drops.BeforeInput.Contains(d.RecipientId)) continue;
            Clients[d.RecipientId].ReceiveShares(d);
            Server.Receive(Clients[d.RecipientId].MaskInput(inputs[d.RecipientId]));
        }
        return Server.CloseMasking();
    }

    public SecAggResult Unmask(IReadOnlyList<UnmaskRequest> requests, DropPlan drops, Func<UnmaskResponse, UnmaskResponse>? alter = null)
    {
        foreach (var q in requests)
        {
            if (drops.BeforeUnmask.Contains(q.RecipientId)) continue;
            var response = Clients[q.RecipientId].Unmask(q);
            Server.Receive(alter is null ? response : alter(response));
        }
        return Server.Finish();
    }

    public SecAggResult Run(uint[][] inputs, DropPlan? drops = null)
    {
        drops ??= DropPlan.None;
        var broadcasts = Advertise(drops);
        var deliveries = Share(broadcasts, drops);
        var requests = Mask(deliveries, inputs, drops);
        return Unmask(requests, drops);
    }

    public void Dispose()
    {
        foreach (var c in Clients) c.Dispose();
    }
}
