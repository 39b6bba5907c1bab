namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>
/// The public configuration of one SecAgg+ round, identical at the server and every client (it travels with the
/// task). Clients are numbered 0 … <see cref="ClientCount"/> − 1; each has <see cref="Neighbours"/> neighbours in
/// the <see cref="NeighbourGraph"/> drawn from <see cref="GraphSeed"/>, and shares its two secrets among its
/// k + 1 <em>holders</em>: its neighbours and itself (the self-share lets a complete graph behave exactly like
/// Bonawitz et al.'s t-of-n). Any <see cref="Threshold"/> holders rebuild a secret.
/// </summary>
public sealed record SecAggParameters
{
    /// <summary>Unique per round; in every message, every key derivation and every envelope's associated data.</summary>
    public required long RoundId { get; init; }
    /// <summary>n: clients that may take part.</summary>
    public required int ClientCount { get; init; }
    /// <summary>m: uint32 words per input vector.</summary>
    public required int VectorLength { get; init; }
    /// <summary>k: neighbours per client; n − 1 is the complete graph (SecAgg), otherwise even (SecAgg+).</summary>
    public required int Neighbours { get; init; }
    /// <summary>t: shares that rebuild a secret, among the k + 1 holders. Must exceed (k + 1)/2: see <see cref="Validate"/>.</summary>
    public required int Threshold { get; init; }
    /// <summary>Public seed of the graph's random labelling; default 0. Draw it fresh per round.</summary>
    public ulong GraphSeed { get; init; }

    /// <summary>k + 1: the client itself and its neighbours.</summary>
    public int Holders => Neighbours + 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the field and what to change.</summary>
    public void Validate()
    {
        if (ClientCount < 2) throw new ArgumentException($"ClientCount is {ClientCount}; a SecAgg round needs at least 2 clients.");
        if (VectorLength < 1) throw new ArgumentException($"VectorLength is {VectorLength}; it must be at least 1.");
        if (Neighbours < 1 || Neighbours > ClientCount - 1)
            throw new ArgumentException($"Neighbours is {Neighbours}; with {ClientCount} clients it must be between 2 and {ClientCount - 1} (the complete graph).");
        if (Neighbours != ClientCount - 1 && Neighbours % 2 != 0)
            throw new ArgumentException($"Neighbours is {Neighbours}; a sparse graph needs an even degree, or {ClientCount - 1} for the complete graph.");
        // Each holder reveals at most one of a client's two shares, so to learn both b_u and s_u a server needs t
        // holders for each from disjoint sets: impossible when 2t > k + 1 (Bonawitz et al. 2017, §4; Bell et al. 2020).
        int minimum = Holders / 2 + 1;
        if (Threshold < Math.Max(2, minimum) || Threshold > Holders)
            throw new ArgumentException(
                $"Threshold is {Threshold}; with {Holders} holders per client (itself and {Neighbours} neighbours) it must be between {Math.Max(2, minimum)} and {Holders}: " +
                "more than half the holders, or a server could collect both secrets of one client from two disjoint halves.");
    }

    public NeighbourGraph CreateGraph() => NeighbourGraph.Create(ClientCount, Neighbours, GraphSeed);

    /// <summary>The original SecAgg: everyone is everyone's neighbour, t of n.</summary>
    public static SecAggParameters Complete(long roundId, int clients, int vectorLength, int threshold) => new()
    {
        RoundId = roundId, ClientCount = clients, VectorLength = vectorLength, Neighbours = clients - 1, Threshold = threshold,
    };

    /// <summary>
    /// The smallest even degree k, and its threshold t, for which SecAgg+ on a random Harary graph is both secure and
    /// correct with overwhelming probability — the parameter search of Bell et al. 2020 (§3–4) in the form of
    /// Google's open-source HararyGraphParameterFinder, for a semi-malicious server colluding with a fraction
    /// <paramref name="adversarialRate"/> of clients while a fraction <paramref name="dropoutRate"/> drop out:
    /// <list type="bullet">
    /// <item>the graph of honest survivors stays connected except with probability 2^−41 (else the server would
    /// learn the sums of its components separately);</item>
    /// <item>security: a client has more than t₁ adversarial neighbours with probability ≤ 2^−41/n, and
    /// t ≥ ⌊(k + 1 + t₁)/2⌋ + 1, so honest holders cannot be split into two groups of t;</item>
    /// <item>correctness: fewer than t of a client's holders survive with probability ≤ 2^−20/n.</item>
    /// </list>
    /// Neighbour counts are hypergeometric (the k neighbours are a uniformly random k-subset of the other n − 1).
    /// As in that finder, the rates are bounds: at most ⌊γn⌋ clients drop and ⌊δn⌋ are adversarial. Falls back to
    /// the complete graph when no k &lt; n − 1 qualifies (small rounds). For 100 clients and 10% dropouts: k = 18,
    /// t = 10; for 1,000 clients and 5%: see the tests — the degree grows with log n.
    /// </summary>
    public static SecAggParameters Recommend(long roundId, int clients, int vectorLength, double dropoutRate, double adversarialRate = 0, ulong graphSeed = 0)
    {
        if (clients < 2) throw new ArgumentOutOfRangeException(nameof(clients), clients, "A SecAgg round needs at least 2 clients.");
        if (dropoutRate is < 0 or >= 1 || double.IsNaN(dropoutRate)) throw new ArgumentOutOfRangeException(nameof(dropoutRate), dropoutRate, "The dropout rate must be in [0, 1).");
        if (adversarialRate is < 0 or >= 1 || double.IsNaN(adversarialRate)) throw new ArgumentOutOfRangeException(nameof(adversarialRate), adversarialRate, "The adversarial rate must be in [0, 1).");
        const double small = 1e-12;
        int dropouts = (int)Math.Floor(dropoutRate * clients + small);
        int adversarial = (int)Math.Floor(adversarialRate * clients + small);
        var logFactorial = new double[clients + 1];
        for (int i = 1; i <= clients; i++) logFactorial[i] = logFactorial[i - 1] + Math.Log(i);
        double logSecurity = -41 * Math.Log(2), logCorrectness = -20 * Math.Log(2) - Math.Log(clients);

        for (int k = 2; k < clients - 1; k += 2)
        {
            // A Harary graph falls apart only if k/2 consecutive ring positions are removed in two places: union bound
            // over the n(n − k − 1)/2 pairs of gaps of P[k given clients are all bad].
            int bad = adversarial + dropouts;
            if (k <= bad)
            {
                double logPairs = Math.Log(clients) + Math.Log(clients - k - 1) - Math.Log(2);
                double logAllBad = logFactorial[bad] - logFactorial[bad - k] + logFactorial[clients - k] - logFactorial[clients];
                if (logPairs + logAllBad >= logSecurity) continue;
            }
            int t1 = 0;
            while (t1 < k && LogTailAbove(clients - 1, adversarial, k, t1, logFactorial) > logSecurity - Math.Log(clients)) t1++;
            int threshold = Math.Max(2, (k + 1 + t1) / 2 + 1);
            if (threshold > k + 1) continue;
            // Fewer than t surviving holders ⇔ more than k + 1 − t dropped neighbours (counting the client itself as a
            // survivor; for a dropped client this is one share optimistic, which the 2^−20 margin absorbs).
            if (LogTailAbove(clients - 1, dropouts, k, k + 1 - threshold, logFactorial) > logCorrectness) continue;
            return new SecAggParameters
            {
                RoundId = roundId, ClientCount = clients, VectorLength = vectorLength, Neighbours = k, Threshold = threshold, GraphSeed = graphSeed,
            };
        }
        int completeThreshold = Math.Max(2, (clients + adversarial) / 2 + 1);
        if (completeThreshold > clients - dropouts)
            throw new ArgumentException(
                $"No SecAgg parameters tolerate {dropoutRate:P0} dropouts with {adversarialRate:P0} adversarial clients among {clients}: " +
                $"a threshold above half the clients ({completeThreshold}) exceeds the {clients - dropouts} expected survivors. Lower the dropout rate or enlarge the group.");
        return new SecAggParameters
        {
            RoundId = roundId, ClientCount = clients, VectorLength = vectorLength, Neighbours = clients - 1, Threshold = completeThreshold, GraphSeed = graphSeed,
        };
    }

    /// <summary>log P[X &gt; a] for X ~ Hypergeometric(population, successes, draws).</summary>
    private static double LogTailAbove(int population, int successes, int draws, int a, double[] lf)
    {
        double sum = 0;
        double logAll = lf[population] - lf[draws] - lf[population - draws];
        for (int x = a + 1; x <= Math.Min(successes, draws); x++)
        {
            if (draws - x > population - successes) continue;
            double logWays = lf[successes] - lf[x] - lf[successes - x]
                + lf[population - successes] - lf[draws - x] - lf[population - successes - draws + x];
            sum += Math.Exp(logWays - logAll);
        }
        return sum > 0 ? Math.Log(sum) : double.NegativeInfinity;
    }
}
