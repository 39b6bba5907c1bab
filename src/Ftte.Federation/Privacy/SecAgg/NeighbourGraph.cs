using Ftte.Core;

namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>
/// Who masks with whom and who holds whose shares in SecAgg+ (Bell et al. 2020): a k-regular graph instead of
/// SecAgg's complete graph, so each client does O(k) = O(log n) key agreements and the whole round costs
/// O(n log n) instead of O(n²).
/// <para>The graph is the Harary graph H(k, n) — clients on a ring, each joined to the k/2 before and the k/2
/// after it — with the ring order drawn by a Fisher–Yates shuffle from a public seed (Google's open-source
/// SecAgg server builds the same relabelled Harary graph). The relabelling is what matters for security: the
/// adversary cannot choose to corrupt a client's neighbourhood. With k = n − 1 it is the complete graph of
/// the original SecAgg (Bonawitz et al. 2017).</para>
/// <para>Stored as the permutation and its inverse (O(n) memory), neighbour lists computed on demand.</para>
/// </summary>
public sealed class NeighbourGraph
{
    private readonly int[] _clientAt;   // ring position → client id
    private readonly int[] _positionOf; // client id → ring position

    private NeighbourGraph(int clients, int degree, int[] clientAt)
    {
        ClientCount = clients;
        Degree = degree;
        _clientAt = clientAt;
        _positionOf = new int[clients];
        for (int p = 0; p < clients; p++) _positionOf[clientAt[p]] = p;
    }

    public int ClientCount { get; }
    /// <summary>k: every client has exactly k neighbours.</summary>
    public int Degree { get; }
    public bool IsComplete => Degree == ClientCount - 1;

    /// <param name="clients">n ≥ 2, client ids 0 … n − 1.</param>
    /// <param name="degree">k: n − 1 (complete), or an even number in [2, n − 2].</param>
    /// <param name="seed">Public: server and clients derive the same graph from it.</param>
    public static NeighbourGraph Create(int clients, int degree, ulong seed)
    {
        if (clients < 2) throw new ArgumentOutOfRangeException(nameof(clients), clients, "A SecAgg round needs at least 2 clients.");
        if (degree < 1 || degree > clients - 1)
            throw new ArgumentOutOfRangeException(nameof(degree), degree, $"The degree must be between 1 and n − 1 = {clients - 1}.");
        if (degree != clients - 1 && degree % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(degree), degree, $"A sparse (Harary) graph needs an even degree (k/2 neighbours on each side of the ring); use {degree + 1} or n − 1 = {clients - 1} for the complete graph.");
        var order = new int[clients];
        for (int i = 0; i < clients; i++) order[i] = i;
        if (degree != clients - 1) new Rng(Rng.Mix(seed, 0x5EC_A66)).Shuffle<int>(order);
        return new NeighbourGraph(clients, degree, order);
    }

    public bool AreNeighbours(int a, int b)
    {
        Check(a);
        Check(b);
        if (a == b) return false;
        if (IsComplete) return true;
        int d = Math.Abs(_positionOf[a] - _positionOf[b]);
        return Math.Min(d, ClientCount - d) <= Degree / 2;
    }

    /// <summary>The k neighbours of a client, in ascending id order.</summary>
    public int[] NeighboursOf(int client)
    {
        Check(client);
        var result = new int[Degree];
        if (IsComplete)
        {
            for (int i = 0, j = 0; i < ClientCount; i++)
                if (i != client) result[j++] = i;
            return result;
        }
        int p = _positionOf[client], half = Degree / 2;
        for (int j = 1; j <= half; j++)
        {
            result[2 * j - 2] = _clientAt[(p + j) % ClientCount];
            result[2 * j - 1] = _clientAt[(p - j + ClientCount) % ClientCount];
        }
        Array.Sort(result);
        return result;
    }

    private void Check(int client)
    {
        if ((uint)client >= (uint)ClientCount)
            throw new ArgumentOutOfRangeException(nameof(client), client, $"Client ids run from 0 to {ClientCount - 1}.");
    }
}
