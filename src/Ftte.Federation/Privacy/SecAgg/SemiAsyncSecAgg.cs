using Ftte.Federation.Aggregation;

namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>
/// How SecAgg+ meets FTTE's buffered semi-asynchronous server (FedBuff-style: M devices in flight, a step after K
/// updates). The design; <see cref="SecureGroups"/> implements it for the simulator and the real server.
///
/// <para><b>Aggregation groups.</b> The server can no longer add single updates to its buffer — it only ever sees
/// the sum of a SecAgg round — so the buffer becomes a group. The server numbers groups g = 0, 1, … and puts the
/// next G devices it dispatches to into the open group (G ≥ K, from <see cref="GroupSize"/>; members are numbered
/// 0 … G − 1, the round id is the group id). The group seals when G members are dispatched or K have finished
/// training; the invitation then carries its <see cref="SecAggParameters"/> and the member index. Key advertisement
/// and sharing run while members train (small messages on the long poll); each phase closes once every live member
/// has answered, or at a deadline — a member that misses it simply is not in U2. A member that finishes
/// training uploads its masked update (<see cref="ClientSession.MaskInput"/>) instead of its delta.</para>
///
/// <para><b>Closing a group.</b> The server closes the masking round when all of U2 have sent, or when at least K have
/// sent and <see cref="ServerSession.CanCloseMasking"/> holds and a grace period has passed (so one straggler does
/// not hold the step). Members still training at that moment are dropouts: their mask keys are rebuilt, so their
/// late input is refused and their work is lost (the cost of not waiting). The unmasked sum then makes one server
/// step: the buffer of K updates becomes a group of |U3| ≥ K updates.</para>
///
/// <para><b>Dropouts.</b> Within a group they are handled by unmasking, up to the threshold: each secret needs t of
/// its k + 1 holders (groups of up to 64 use the complete graph with t = ⌊n/2⌋ + 1; larger ones
/// <see cref="SecAggParameters.Recommend"/>'s sparse graph for the expected dropout rate). When a
/// group cannot reach its threshold (<see cref="SecAggThresholdException"/>) nothing can be recovered — by design, no
/// single input is revealed either: the server discards the group, counts its members' updates as dropped, makes no
/// step, and the next group carries on. G's margin (<see cref="GroupSize"/>) and closing before the unmasking
/// round only when it is feasible keep this rare. Each group that unmasks is one step.</para>
///
/// <para><b>Staleness weighting.</b> FTTE weights each update by a(τ) = s(τ), τ = version at aggregation − base
/// version. The server cannot weight inside a masked sum (scaling y_u scales its masks, which then no longer
/// cancel), so the client must apply the weight before masking — but the client knows its base version, not
/// the version at aggregation. The server plans it: when a group's shares go out, P_g = (version now) + (groups
/// still pending ahead of g), and each member gets a = s(P_g − base) (<see cref="PlannedAgeWeight"/>) in its
/// <see cref="MaskPlan"/>. The fast pool's and the straggler pool's groups step when they complete, not strictly
/// in order, so P_g is an estimate (a later group completing first makes τ one larger than planned). The server
/// knows every a_i (it knows the bases and P_g), so no weight word travels: the step is
/// x ← x + η_g · Σ a_i Δ_i / |U3| as in FedBuff (|U3| is public). <see cref="FixedPointEncoding.EncodeWeighted"/>
/// remains for a server that must not learn the weights.</para>
///
/// <para><b>The variance term</b> v_i = 1/(1 + ρ_i), ρ_i = ‖Δ_i − Δ̄‖² / mean_j ‖Δ_j − Δ̄‖², needs each update and the
/// buffer mean, which the server no longer has. Proposal: drop it (v ≡ 1) — the README's paper-fmnist ablation
/// measured "age weighting only" reaching 75% in the same 1 min 20 s as the full weighting. A secure variant,
/// if it is wanted later, computes the dispersion against the previous group's public mean Δ̄_{g−1} and mean
/// dispersion D̄_{g−1}: the client computes d_i = ‖Δ_i − Δ̄_{g−1}‖², v̂_i = 1/(1 + d_i / D̄_{g−1}) and submits
/// [a_i v̂_i Δ_i, v̂_i, d_i] under the same masks; the server steps with Σ a_i v̂_i Δ_i / Σ v̂_i and keeps
/// D̄_g = Σ d_i / |U3|. Cost: 2 more words up, one more download of the trainable set (Δ̄_{g−1}, +100% download
/// per task) and a one-step lag in the statistics. The exact variant needs two masked rounds per group (the
/// mean first, then the weighted deltas): twice the upload and the group online twice — not worth it for
/// devices that connect in short windows.</para>
/// </summary>
public static class SemiAsyncSecAgg
{
    /// <summary>
    /// G: the smallest group for which at least K members deliver with probability ≥ 1 − ε when each drops
    /// independently with probability γ: P[Binomial(G, 1 − γ) ≥ K] ≥ 1 − ε.
    /// </summary>
    /// <param name="bufferSize">K, the updates a step needs.</param>
    /// <param name="dropoutRate">γ ∈ [0, 1), the expected share of members that do not deliver in time.</param>
    /// <param name="failureProbability">ε ∈ (0, 1), default 10^−3.</param>
    public static int GroupSize(int bufferSize, double dropoutRate, double failureProbability = 1e-3)
    {
        if (bufferSize < 1) throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "The buffer size K must be at least 1.");
        if (dropoutRate is < 0 or >= 1 || double.IsNaN(dropoutRate)) throw new ArgumentOutOfRangeException(nameof(dropoutRate), dropoutRate, "The dropout rate must be in [0, 1).");
        if (failureProbability is <= 0 or >= 1 || double.IsNaN(failureProbability)) throw new ArgumentOutOfRangeException(nameof(failureProbability), failureProbability, "The failure probability must be in (0, 1).");
        if (dropoutRate == 0) return bufferSize;
        double logDeliver = Math.Log(1 - dropoutRate), logDrop = Math.Log(dropoutRate);
        for (int g = bufferSize; g < 1_000_000; g++)
        {
            // P[X < K] for X ~ Binomial(g, 1 − γ): terms P[X = x] = C(g, x)(1 − γ)^x γ^(g − x), in log space.
            double below = 0, logTerm = g * logDrop;
            for (int x = 0; x < bufferSize; x++)
            {
                below += Math.Exp(logTerm);
                logTerm += Math.Log(g - x) - Math.Log(x + 1) + logDeliver - logDrop;
            }
            if (below <= failureProbability) return g;
        }
        throw new ArgumentException($"No group size reaches {bufferSize} deliveries with dropout rate {dropoutRate}.");
    }

    /// <summary>
    /// a = s(τ̂) with τ̂ = plannedVersion − baseVersion: the age weight a member applies before masking, given the
    /// version its group is planned to be applied at (sent with the task) and the version it trained from.
    /// </summary>
    public static double PlannedAgeWeight(StalenessFunction staleness, long baseVersion, long plannedVersion)
    {
        ArgumentNullException.ThrowIfNull(staleness);
        if (plannedVersion < baseVersion)
            throw new ArgumentOutOfRangeException(nameof(plannedVersion), plannedVersion, $"A group is applied at or after the version its members start from ({baseVersion}).");
        return staleness.Weight((int)Math.Min(int.MaxValue, plannedVersion - baseVersion));
    }
}
