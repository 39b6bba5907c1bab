using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Security.Cryptography;
using Ftte.Federation.Privacy.SecAgg.Internal;

namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>Where a <see cref="ServerSession"/> stands.</summary>
public enum ServerPhase { CollectingKeys, CollectingShares, CollectingInputs, CollectingUnmasking, Done, Failed }

/// <summary>
/// The server's side of one SecAgg+ round. It relays keys and sealed shares, sums masked inputs as they arrive
/// (O(m) memory, not O(n·m)), and unmasks the sum: for every survivor u it rebuilds b_u from t shares and removes
/// PRG(b_u); for every dropped v it rebuilds s_v and removes v's pairwise masks with its surviving neighbours.
/// <para>The caller owns time: it feeds messages with <c>Receive</c> and decides when a phase is over with
/// <c>Close…</c> (a deadline, or enough messages). Client sets follow Bonawitz et al.: U1 advertised, U2 shared,
/// U3 sent masked input (survivors), U4 answered the unmasking request. A holder of u's shares is u itself or a
/// neighbour in U2; a secret needs t holders that answer.</para>
/// <para>It never asks for both shares of one client: survivors (U3) get their b revealed, dropped clients
/// (U2 \ U3) their s, and U3 ∩ (U2 \ U3) = ∅; inputs arriving after <see cref="CloseMasking"/> are refused, since by
/// then a dropped client's mask key may be revealed. A refused message throws <see cref="SecAggException"/> and
/// changes nothing; a round that cannot reach its threshold throws <see cref="SecAggThresholdException"/> and ends
/// in <see cref="ServerPhase.Failed"/> without revealing any share.</para>
/// </summary>
public sealed class ServerSession
{
    private readonly SecAggParameters _parameters;
    private readonly NeighbourGraph _graph;
    private readonly int[]?[] _neighbourCache;
    private readonly SortedDictionary<int, AdvertiseKeys> _advertised = [];
    private readonly SortedDictionary<int, ShareKeys> _shares = [];
    private readonly SortedSet<int> _sharing = [];    // U2 after CloseSharing
    private readonly SortedSet<int> _survivors = [];  // U3
    private int[] _droppedAfterMasking = [];
    private uint[]? _sum;
    private readonly Dictionary<int, UnmaskRequest> _requests = [];
    private readonly SortedSet<int> _responders = [];  // U4
    private readonly Dictionary<int, List<(int Holder, BigInteger Share)>> _selfMaskShares = [];
    private readonly Dictionary<int, List<(int Holder, BigInteger Share)>> _maskKeyShares = [];

    public ServerSession(SecAggParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        _parameters = parameters;
        _graph = parameters.CreateGraph();
        _neighbourCache = new int[]?[parameters.ClientCount];
    }

    public SecAggParameters Parameters => _parameters;
    public long RoundId => _parameters.RoundId;
    public ServerPhase Phase { get; private set; }
    /// <summary>U1: clients whose keys arrived.</summary>
    public IReadOnlyCollection<int> Advertised => _advertised.Keys;
    /// <summary>U2: clients in the sharing set (after <see cref="CloseSharing"/>).</summary>
    public IReadOnlyCollection<int> Sharing => _sharing;
    /// <summary>U3: clients whose masked input is in the running sum.</summary>
    public IReadOnlyCollection<int> Survivors => _survivors;
    /// <summary>U4: survivors that answered the unmasking request.</summary>
    public IReadOnlyCollection<int> Responders => _responders;

    // ---- round 0: keys ------------------------------------------------------------------------------------------

    public void Receive(AdvertiseKeys message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Expect(ServerPhase.CollectingKeys, message.RoundId, message.ClientId, nameof(AdvertiseKeys));
        if (_advertised.ContainsKey(message.ClientId))
            throw Refuse(SecAggError.Duplicate, $"Client {message.ClientId} already advertised its keys in round {RoundId}.");
        if (message.SelfMaskCommitment.Length != 32 || !KeyAgreement.IsValidPublicKey(message.MaskPublicKey) || !KeyAgreement.IsValidPublicKey(message.SharePublicKey))
            throw Refuse(SecAggError.Malformed, $"Client {message.ClientId}'s advertisement is not two P-256 points (64 bytes X ‖ Y each) and a 32-byte commitment.");
        _advertised.Add(message.ClientId, message);
    }

    /// <summary>Ends round 0: U1 is fixed; returns, for each client in U1, the keys of its neighbours in U1.</summary>
    public IReadOnlyList<KeysBroadcast> CloseAdvertising()
    {
        ExpectPhase(ServerPhase.CollectingKeys, nameof(CloseAdvertising));
        if (_advertised.Count < _parameters.Threshold)
            throw Fail(_advertised.Count, null, _advertised.Count,
                $"SecAgg round {RoundId} cannot proceed: only {_advertised.Count} of {_parameters.ClientCount} clients advertised keys; the threshold is {_parameters.Threshold}.");
        var broadcasts = new List<KeysBroadcast>(_advertised.Count);
        foreach (int u in _advertised.Keys)
            broadcasts.Add(new KeysBroadcast(RoundId, u, [.. NeighboursOf(u).Where(_advertised.ContainsKey).Select(v => _advertised[v])]));
        Phase = ServerPhase.CollectingShares;
        return broadcasts;
    }

    // ---- round 1: shares ----------------------------------------------------------------------------------------

    public void Receive(ShareKeys message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Expect(ServerPhase.CollectingShares, message.RoundId, message.ClientId, nameof(ShareKeys));
        int u = message.ClientId;
        if (!_advertised.ContainsKey(u))
            throw Refuse(SecAggError.UnknownClient, $"Client {u} sent shares in round {RoundId} but did not advertise keys.");
        if (_shares.ContainsKey(u))
            throw Refuse(SecAggError.Duplicate, $"Client {u} already sent its shares in round {RoundId}.");
        var expected = NeighboursOf(u).Where(_advertised.ContainsKey).ToHashSet();
        var seen = new HashSet<int>();
        foreach (var envelope in message.Shares)
        {
            if (envelope.From != u)
                throw Refuse(SecAggError.UnknownClient, $"Client {u}'s shares include an envelope claiming to be from client {envelope.From}.");
            if (!expected.Contains(envelope.To))
                throw Refuse(SecAggError.UnknownClient, $"Client {u} sent a share to client {envelope.To}, which is not one of its neighbours with keys in round {RoundId}.");
            if (!seen.Add(envelope.To))
                throw Refuse(SecAggError.Duplicate, $"Client {u} sent two shares to client {envelope.To}.");
            if (envelope.Ciphertext.Length != KeyAgreement.EnvelopeBytes)
                throw Refuse(SecAggError.Malformed, $"Client {u}'s share for client {envelope.To} is {envelope.Ciphertext.Length} bytes; an envelope is {KeyAgreement.EnvelopeBytes}.");
        }
        if (seen.Count != expected.Count)
            throw Refuse(SecAggError.Malformed, $"Client {u} sent {seen.Count} shares; it has {expected.Count} neighbours with keys and must share with each.");
        _shares.Add(u, message);
    }

    /// <summary>
    /// Ends round 1: U2 is fixed and each member gets the envelopes addressed to it. A client whose secrets reached
    /// fewer than t holders within U2 is left out of U2 (repeatedly, since leaving one out removes a holder from its
    /// neighbours): nobody masks with it, so the round does not depend on it.
    /// </summary>
    public IReadOnlyList<SharesDelivery> CloseSharing()
    {
        ExpectPhase(ServerPhase.CollectingShares, nameof(CloseSharing));
        var members = new SortedSet<int>(_shares.Keys);
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (int u in members.ToArray())
            {
                if (1 + NeighboursOf(u).Count(members.Contains) >= _parameters.Threshold) continue;
                members.Remove(u);
                changed = true;
            }
        }
        if (members.Count < _parameters.Threshold)
            throw Fail(members.Count, null, members.Count,
                $"SecAgg round {RoundId} cannot proceed: {members.Count} of {_parameters.ClientCount} clients are left in the sharing set (of {_shares.Count} that sent shares); the threshold is {_parameters.Threshold}.");
        _sharing.UnionWith(members);
        var deliveries = new List<SharesDelivery>(members.Count);
        var inbox = members.ToDictionary(v => v, _ => new List<EncryptedShare>());
        foreach (int u in members)
            foreach (var envelope in _shares[u].Shares)
                if (inbox.TryGetValue(envelope.To, out var list)) list.Add(envelope);
        foreach (int v in members) deliveries.Add(new SharesDelivery(RoundId, v, inbox[v]));
        _shares.Clear();    // envelopes are relayed, not kept
        _sum = new uint[_parameters.VectorLength];
        Phase = ServerPhase.CollectingInputs;
        return deliveries;
    }

    // ---- round 2: masked inputs ---------------------------------------------------------------------------------

    public void Receive(MaskedInput message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Expect(ServerPhase.CollectingInputs, message.RoundId, message.ClientId, nameof(MaskedInput));
        int u = message.ClientId;
        if (!_sharing.Contains(u))
            throw Refuse(SecAggError.UnknownClient, $"Client {u} sent a masked input in round {RoundId} but is not in its sharing set (no shares, or too few holders).");
        if (_survivors.Contains(u))
            throw Refuse(SecAggError.Duplicate, $"Client {u} already sent its masked input in round {RoundId}.");
        if (message.Values is null || message.Values.Length != _parameters.VectorLength)
            throw Refuse(SecAggError.Malformed, $"Client {u} sent {message.Values?.Length ?? 0} values; round {RoundId} aggregates vectors of {_parameters.VectorLength}.");
        TensorPrimitives.Add(_sum, message.Values, _sum);   // wraps: addition in Z_2^32
        _survivors.Add(u);
    }

    /// <summary>True when closing the masking round now would let the sum be unmasked if every survivor answers;
    /// otherwise <paramref name="reason"/> names the first secret that falls short.</summary>
    public bool CanCloseMasking(out string reason)
    {
        ExpectPhase(ServerPhase.CollectingInputs, nameof(CanCloseMasking));
        var shortfall = Shortfall(_survivors, unmasking: false);
        reason = shortfall?.Message ?? "";
        return shortfall is null;
    }

    /// <summary>
    /// Ends round 2: U3 is fixed; later inputs are refused. Returns one request per survivor: the self-mask shares
    /// of the survivors it holds shares of (itself included) and the mask-key shares of the dropped ones.
    /// Throws <see cref="SecAggThresholdException"/> (and fails the round, revealing nothing) when some secret has
    /// fewer than t holders among the survivors.
    /// </summary>
    public IReadOnlyList<UnmaskRequest> CloseMasking()
    {
        ExpectPhase(ServerPhase.CollectingInputs, nameof(CloseMasking));
        if (Shortfall(_survivors, unmasking: false) is { } shortfall) throw Fail(shortfall);
        _droppedAfterMasking = [.. _sharing.Where(u => !_survivors.Contains(u))];
        var dropped = _droppedAfterMasking.ToHashSet();
        var requests = new List<UnmaskRequest>(_survivors.Count);
        foreach (int w in _survivors)
        {
            var neighbours = NeighboursOf(w);
            int[] revealSelf = [.. neighbours.Where(_survivors.Contains).Append(w).Order()];
            int[] revealKey = [.. neighbours.Where(dropped.Contains)];
            // The invariant the whole protocol rests on: never both shares of one client.
            if (revealSelf.Intersect(revealKey).Any())
                throw new UnreachableException("A client is both a survivor and dropped.");
            var request = new UnmaskRequest(RoundId, w, _survivors.Count, revealSelf, revealKey);
            _requests.Add(w, request);
            requests.Add(request);
        }
        foreach (int u in _survivors) _selfMaskShares[u] = [];
        foreach (int v in _droppedAfterMasking) _maskKeyShares[v] = [];
        Phase = ServerPhase.CollectingUnmasking;
        return requests;
    }

    // ---- round 3: unmasking -------------------------------------------------------------------------------------

    public void Receive(UnmaskResponse message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Expect(ServerPhase.CollectingUnmasking, message.RoundId, message.ClientId, nameof(UnmaskResponse));
        int w = message.ClientId;
        if (!_requests.TryGetValue(w, out var request))
            throw Refuse(SecAggError.UnknownClient, $"Client {w} answered the unmasking of round {RoundId} but is not a survivor and was not asked.");
        if (_responders.Contains(w))
            throw Refuse(SecAggError.Duplicate, $"Client {w} already answered the unmasking request of round {RoundId}.");
        var selfShares = Parse(message.SelfMaskShares, request.RevealSelfMaskOf, w, "self-mask");
        var keyShares = Parse(message.MaskKeyShares, request.RevealMaskKeyOf, w, "mask-key");
        foreach (var (owner, share) in selfShares) _selfMaskShares[owner].Add((w, share));
        foreach (var (owner, share) in keyShares) _maskKeyShares[owner].Add((w, share));
        _responders.Add(w);
    }

    /// <summary>
    /// Ends round 3 and returns Σ_{u ∈ U3} x_u mod 2^32. Each rebuilt secret is checked — b_u against its commitment,
    /// s_v against its advertised public key; when a check fails and a spare share exists, the one wrong share is
    /// found (leave-one-out), left out and its holder reported in <see cref="SecAggResult.SuspectedClients"/>.
    /// </summary>
    public SecAggResult Finish()
    {
        ExpectPhase(ServerPhase.CollectingUnmasking, nameof(Finish));
        if (Shortfall(_responders, unmasking: true) is { } shortfall) throw Fail(shortfall);
        var suspects = new SortedSet<int>();
        var sum = _sum!;
        Span<byte> seed = stackalloc byte[KeyAgreement.SeedBytes];
        foreach (int u in _survivors)
        {
            var commitment = _advertised[u].SelfMaskCommitment;
            var selfMask = Rebuild(u, "self-mask", _selfMaskShares[u], suspects,
                b => CryptographicOperations.FixedTimeEquals(KeyAgreement.Commit(b, RoundId, u), commitment));
            KeyAgreement.SelfMaskSeed(selfMask, RoundId, u, seed);
            MaskGenerator.Apply(seed, sum, subtract: true);
        }
        foreach (int v in _droppedAfterMasking)
        {
            var publicKey = _advertised[v].MaskPublicKey;
            var scalar = Rebuild(v, "mask-key", _maskKeyShares[v], suspects, s => MatchesPublicKey(s, publicKey));
            using var maskKey = P256KeyPair.FromScalar(Shamir.ToBytes(scalar));
            foreach (int u in NeighboursOf(v))
            {
                if (!_survivors.Contains(u)) continue;
                using (var other = KeyAgreement.ImportPublicKey(_advertised[u].MaskPublicKey))
                {
                    var secret = maskKey.Agree(other.PublicKey);
                    KeyAgreement.PairwiseMaskSeed(secret, RoundId, u, v, seed);
                }
                // u added PRG(s_uv) if u < v and subtracted it if u > v; undo that.
                MaskGenerator.Apply(seed, sum, subtract: u < v);
            }
        }
        CryptographicOperations.ZeroMemory(seed);
        Phase = ServerPhase.Done;
        return new SecAggResult(RoundId, sum, [.. _survivors], [.. _droppedAfterMasking], [.. suspects]);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private int[] NeighboursOf(int client) => _neighbourCache[client] ??= _graph.NeighboursOf(client);

    /// <summary>The first secret with fewer than t holders among <paramref name="present"/>, as an exception; null if none.</summary>
    private SecAggThresholdException? Shortfall(IReadOnlySet<int> present, bool unmasking)
    {
        int t = _parameters.Threshold;
        int failing = 0, survived = present.Count;
        SecAggThresholdException? first = null;
        string stage = unmasking
            ? $"{present.Count} of the {_survivors.Count} survivors answered the unmasking request"
            : $"{present.Count} of {_parameters.ClientCount} clients survived (sent their masked input)";
        foreach (int u in _sharing)
        {
            bool survivor = _survivors.Contains(u);
            // Holders: u itself (only useful if it survived) and its neighbours in U2.
            int available = NeighboursOf(u).Count(v => _sharing.Contains(v) && present.Contains(v)) + (survivor && present.Contains(u) ? 1 : 0);
            if (available >= t) continue;
            failing++;
            first ??= new SecAggThresholdException(RoundId, survived, _parameters.ClientCount, t, u, available,
                $"SecAgg round {RoundId} cannot be unmasked: {stage}, and client {u}'s {(survivor ? "self-mask" : "mask key (it dropped)")} " +
                $"has only {available} shares among them; the threshold is {t} of its {1 + NeighboursOf(u).Count(_sharing.Contains)} holders" +
                (unmasking ? "" : $" (at most {_parameters.Holders - t} of a client's {_parameters.Holders} holders may drop)") + ".");
        }
        if (first is null || failing == 1) return first;
        return new SecAggThresholdException(RoundId, first.Survived, first.Clients, t, first.Owner, first.SharesAvailable,
            first.Message[..^1] + $"; {failing} clients' secrets fall short in all.");
    }

    private List<(int Owner, BigInteger Share)> Parse(IReadOnlyList<RevealedShare> shares, IReadOnlyList<int> asked, int holder, string kind)
    {
        var askedSet = asked.ToHashSet();
        var result = new List<(int, BigInteger)>(shares.Count);
        var seen = new HashSet<int>();
        foreach (var share in shares)
        {
            if (!askedSet.Contains(share.Owner))
                throw Refuse(SecAggError.UnknownClient, $"Client {holder} revealed a {kind} share of client {share.Owner}, which it was not asked for.");
            if (!seen.Add(share.Owner))
                throw Refuse(SecAggError.Duplicate, $"Client {holder} revealed two {kind} shares of client {share.Owner}.");
            if (!Shamir.IsFieldElement(share.Share))
                throw Refuse(SecAggError.Malformed, $"Client {holder}'s {kind} share of client {share.Owner} is not a 32-byte field element.");
            result.Add((share.Owner, Shamir.FromBytes(share.Share)));
        }
        if (seen.Count != askedSet.Count)
            throw Refuse(SecAggError.Malformed, $"Client {holder} revealed {seen.Count} {kind} shares; it was asked for {askedSet.Count}.");
        return result;
    }

    /// <summary>Rebuilds a secret from t shares; if the check fails, finds and leaves out a single wrong share.</summary>
    private BigInteger Rebuild(int owner, string kind, List<(int Holder, BigInteger Share)> shares, SortedSet<int> suspects, Func<BigInteger, bool> check)
    {
        int t = _parameters.Threshold;
        shares.Sort((a, b) => a.Holder.CompareTo(b.Holder));
        if (TryRebuild(shares, skip: -1, t, check, out var secret)) return secret;
        for (int skip = 0; skip < shares.Count && shares.Count > t; skip++)
        {
            if (!TryRebuild(shares, skip, t, check, out secret)) continue;
            suspects.Add(shares[skip].Holder);
            return secret;
        }
        throw Fail(new SecAggException(SecAggError.InconsistentShares, RoundId,
            $"The {shares.Count} revealed {kind} shares of client {owner} in round {RoundId} do not rebuild the {(kind == "self-mask" ? "committed self-mask seed" : "advertised mask key")}: " +
            $"some of holders {string.Join(", ", shares.Select(s => s.Holder))} sent a wrong share" +
            (shares.Count > t ? ", and leaving out any single one does not help." : $", and with exactly t = {t} shares there is no spare to find which.")));
    }

    private static bool TryRebuild(List<(int Holder, BigInteger Share)> shares, int skip, int t, Func<BigInteger, bool> check, out BigInteger secret)
    {
        var holders = new int[t];
        var values = new BigInteger[t];
        for (int i = 0, j = 0; i < shares.Count && j < t; i++)
        {
            if (i == skip) continue;
            holders[j] = shares[i].Holder;
            values[j++] = shares[i].Share;
        }
        secret = Shamir.Reconstruct(holders, values);
        return check(secret);
    }

    private static bool MatchesPublicKey(BigInteger scalar, byte[] publicKey)
    {
        if (scalar.IsZero) return false;
        try
        {
            using var key = P256KeyPair.FromScalar(Shamir.ToBytes(scalar));
            return CryptographicOperations.FixedTimeEquals(key.PublicKey, publicKey);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private void Expect(ServerPhase phase, long roundId, int client, string what)
    {
        if (roundId != RoundId)
            throw Refuse(SecAggError.WrongRound, $"{what} from client {client} belongs to round {roundId}, not round {RoundId}: a replay or a stale message, refused.");
        if ((uint)client >= (uint)_parameters.ClientCount)
            throw Refuse(SecAggError.UnknownClient, $"{what} from client {client}: round {RoundId} has clients 0 to {_parameters.ClientCount - 1}.");
        if (Phase != phase)
            throw Refuse(SecAggError.WrongPhase, $"{what} from client {client} arrived while round {RoundId} is in phase {Phase}; it is taken in phase {phase} only.");
    }

    private void ExpectPhase(ServerPhase phase, string step)
    {
        if (Phase != phase)
            throw Refuse(SecAggError.WrongPhase, $"Round {RoundId} is in phase {Phase}; {step} needs phase {phase}.");
    }

    private SecAggException Refuse(SecAggError error, string message) => new(error, RoundId, message);

    private SecAggThresholdException Fail(int survived, int? owner, int available, string message) =>
        Fail(new SecAggThresholdException(RoundId, survived, _parameters.ClientCount, _parameters.Threshold, owner, available, message));

    private T Fail<T>(T exception) where T : SecAggException
    {
        Phase = ServerPhase.Failed;
        _sum = null;
        return exception;
    }
}
