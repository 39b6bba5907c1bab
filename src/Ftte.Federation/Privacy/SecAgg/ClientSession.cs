using System.Numerics;
using System.Security.Cryptography;
using Ftte.Federation.Privacy.SecAgg.Internal;

namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>Where a <see cref="ClientSession"/> stands; each step needs the phase before it.</summary>
public enum ClientPhase { Created, KeysAdvertised, SharesSent, SharesReceived, InputSent, Done, Failed }

/// <summary>
/// One device's side of one SecAgg+ round (Bonawitz et al. 2017, Fig. 4 with the sparse graph of Bell et al. 2020):
/// <list type="number">
/// <item><see cref="AdvertiseKeys"/>: two fresh P-256 key pairs (c_u for share encryption, s_u for masks), a fresh
/// self-mask seed b_u, and a commitment to b_u.</item>
/// <item><see cref="ShareKeys"/>: Shamir-split b_u and the private scalar of s_u among the holders (itself and the
/// neighbours that advertised), each neighbour's pair sealed with AES-GCM under a key from ECDH(c_u, c_v).</item>
/// <item><see cref="ReceiveShares"/> then <see cref="MaskInput"/>: y_u = x_u + PRG(b_u) + Σ_{v&gt;u} PRG(s_uv)
/// − Σ_{v&lt;u} PRG(s_uv) (mod 2^32) over the neighbours v whose shares arrived, s_uv from ECDH(s_u, s_v).</item>
/// <item><see cref="Unmask"/>: reveal b-shares of surviving owners and s-shares of dropped ones — never both for one
/// owner, and only once per round.</item>
/// </list>
/// Refused messages throw <see cref="SecAggException"/> and leave the session unchanged, except a share that fails
/// authentication: the client then cannot mask consistently with the server's view and stops (phase Failed), which
/// the server sees as a dropout.
/// </summary>
public sealed class ClientSession : IDisposable
{
    private readonly SecAggParameters _parameters;
    private readonly int[] _neighbours;
    private readonly SessionRandom _random;
    private P256KeyPair? _maskKey;
    private P256KeyPair? _shareKey;
    private BigInteger _selfMask;
    private readonly Dictionary<int, AdvertiseKeys> _neighbourKeys = [];
    // ECDH(c_u, c_v) per neighbour, computed once when sealing and reused to open v's envelope.
    private readonly Dictionary<int, byte[]> _shareSecrets = [];
    private BigInteger _ownSelfMaskShare;
    private BigInteger _ownMaskKeyShare;
    // Shares this client holds for its neighbours; their senders are exactly the neighbours it masks with.
    private readonly SortedDictionary<int, (BigInteger SelfMask, BigInteger MaskKey)> _held = [];

    /// <param name="parameters">The round's public configuration (validated here).</param>
    /// <param name="clientId">This device's index in the round, 0 … n − 1.</param>
    /// <param name="deterministicSeed">Null on real devices (operating-system randomness). A seed makes every key,
    /// secret and message reproducible — for simulations and tests only: whoever knows it knows the secrets.</param>
    public ClientSession(SecAggParameters parameters, int clientId, ulong? deterministicSeed = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        if ((uint)clientId >= (uint)parameters.ClientCount)
            throw new ArgumentOutOfRangeException(nameof(clientId), clientId, $"Client ids of round {parameters.RoundId} run from 0 to {parameters.ClientCount - 1}.");
        _parameters = parameters;
        ClientId = clientId;
        _neighbours = parameters.CreateGraph().NeighboursOf(clientId);
        _random = deterministicSeed is { } seed ? SessionRandom.Seeded(seed, parameters.RoundId, clientId) : SessionRandom.System();
    }

    public int ClientId { get; }
    public long RoundId => _parameters.RoundId;
    public ClientPhase Phase { get; private set; }
    /// <summary>This client's neighbours in the round's graph, ascending.</summary>
    public IReadOnlyList<int> Neighbours => _neighbours;
    /// <summary>The neighbours this client masked (or will mask) with: the senders of the shares it received.</summary>
    public IReadOnlyCollection<int> MaskNeighbours => _held.Keys;

    /// <summary>b_u, for tests that look at the server's view after the self-mask is removed.</summary>
    internal BigInteger SelfMaskForTesting => _selfMask;

    /// <summary>Round 0: fresh keys and self-mask seed; the message for the server.</summary>
    public AdvertiseKeys AdvertiseKeys()
    {
        Expect(ClientPhase.Created, nameof(AdvertiseKeys));
        _maskKey = P256KeyPair.Generate(_random);
        _shareKey = P256KeyPair.Generate(_random);
        _selfMask = _random.Below(Shamir.Prime);
        Phase = ClientPhase.KeysAdvertised;
        return new AdvertiseKeys(RoundId, ClientId, _maskKey.PublicKey.ToArray(), _shareKey.PublicKey.ToArray(), KeyAgreement.Commit(_selfMask, RoundId, ClientId));
    }

    /// <summary>Round 1: split b_u and s_u among the holders and seal each neighbour's pair.</summary>
    public ShareKeys ShareKeys(KeysBroadcast broadcast)
    {
        ArgumentNullException.ThrowIfNull(broadcast);
        Expect(ClientPhase.KeysAdvertised, nameof(ShareKeys));
        CheckAddressed(broadcast.RoundId, broadcast.RecipientId, nameof(KeysBroadcast));
        var keys = new SortedDictionary<int, AdvertiseKeys>();
        foreach (var advert in broadcast.Neighbours)
        {
            if (advert.RoundId != RoundId)
                throw Refuse(SecAggError.WrongRound, $"The keys of client {advert.ClientId} are from round {advert.RoundId}, not round {RoundId}: a replay.");
            if (Array.BinarySearch(_neighbours, advert.ClientId) < 0)
                throw Refuse(SecAggError.UnknownClient, $"Client {advert.ClientId} is not a neighbour of client {ClientId} in round {RoundId}.");
            if (!keys.TryAdd(advert.ClientId, advert))
                throw Refuse(SecAggError.Duplicate, $"The broadcast to client {ClientId} holds the keys of client {advert.ClientId} twice.");
            // Curve membership is checked where each key is imported (the server has checked it too).
            if (advert.SelfMaskCommitment.Length != 32 || advert.MaskPublicKey.Length != P256KeyPair.PublicKeyBytes || advert.SharePublicKey.Length != P256KeyPair.PublicKeyBytes)
                throw Refuse(SecAggError.Malformed, $"The keys of client {advert.ClientId} are not two 64-byte P-256 points and a 32-byte commitment.");
        }
        int holders = keys.Count + 1;
        _shareSecrets.Clear();   // a retry after a refused broadcast must not reuse secrets agreed with its keys
        if (holders < _parameters.Threshold)
            throw new SecAggThresholdException(RoundId, holders, _parameters.ClientCount, _parameters.Threshold, ClientId, holders,
                $"Client {ClientId} cannot share its secrets in round {RoundId}: only {keys.Count} of its {_neighbours.Length} neighbours advertised keys, " +
                $"so {holders} holders with itself, and the threshold is {_parameters.Threshold}.");

        var holderIds = new int[holders];
        holderIds[0] = ClientId;
        keys.Keys.CopyTo(holderIds, 1);
        Array.Sort(holderIds);
        var selfShares = new BigInteger[holders];
        var keyShares = new BigInteger[holders];
        Shamir.Split(_selfMask, _parameters.Threshold, holderIds, _random, selfShares);
        Shamir.Split(Shamir.FromBytes(_maskKey!.PrivateScalar), _parameters.Threshold, holderIds, _random, keyShares);

        var envelopes = new List<EncryptedShare>(keys.Count);
        Span<byte> plaintext = stackalloc byte[KeyAgreement.EnvelopePlaintextBytes];
        Span<byte> key = stackalloc byte[KeyAgreement.SeedBytes];
        for (int i = 0; i < holders; i++)
        {
            int holder = holderIds[i];
            if (holder == ClientId)
            {
                _ownSelfMaskShare = selfShares[i];
                _ownMaskKeyShare = keyShares[i];
                continue;
            }
            DeriveShareKey(keys[holder].SharePublicKey, ClientId, holder, key);
            Shamir.Write(selfShares[i], plaintext);
            Shamir.Write(keyShares[i], plaintext[Shamir.ShareBytes..]);
            envelopes.Add(new EncryptedShare(ClientId, holder, KeyAgreement.Seal(key, RoundId, ClientId, holder, plaintext)));
        }
        CryptographicOperations.ZeroMemory(plaintext);
        CryptographicOperations.ZeroMemory(key);
        selfShares.AsSpan().Clear();
        keyShares.AsSpan().Clear();
        foreach (var (id, advert) in keys) _neighbourKeys[id] = advert;
        Phase = ClientPhase.SharesSent;
        return new ShareKeys(RoundId, ClientId, envelopes);
    }

    /// <summary>Round 1 (delivery): open the shares addressed to this client; their senders are its mask neighbours.</summary>
    public void ReceiveShares(SharesDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        Expect(ClientPhase.SharesSent, nameof(ReceiveShares));
        CheckAddressed(delivery.RoundId, delivery.RecipientId, nameof(SharesDelivery));
        var senders = new HashSet<int>();
        foreach (var envelope in delivery.Shares)
        {
            if (envelope.To != ClientId)
                throw Refuse(SecAggError.UnknownClient, $"A share for client {envelope.To} was delivered to client {ClientId}.");
            if (!_neighbourKeys.ContainsKey(envelope.From))
                throw Refuse(SecAggError.UnknownClient, $"Client {ClientId} got a share from client {envelope.From}, which is not a neighbour that advertised keys in round {RoundId}.");
            if (!senders.Add(envelope.From))
                throw Refuse(SecAggError.Duplicate, $"Client {ClientId} got two shares from client {envelope.From} in round {RoundId}.");
            if (envelope.Ciphertext.Length != KeyAgreement.EnvelopeBytes)
                throw Refuse(SecAggError.Malformed, $"The share from client {envelope.From} is {envelope.Ciphertext.Length} bytes; an envelope is {KeyAgreement.EnvelopeBytes}.");
        }
        if (senders.Count + 1 < _parameters.Threshold)
            throw new SecAggThresholdException(RoundId, senders.Count + 1, _parameters.ClientCount, _parameters.Threshold, ClientId, senders.Count + 1,
                $"Client {ClientId} received shares from only {senders.Count} neighbours in round {RoundId}; masking with so few (threshold {_parameters.Threshold}) could expose its input.");

        var opened = new List<(int From, BigInteger SelfMask, BigInteger MaskKey)>(senders.Count);
        Span<byte> plaintext = stackalloc byte[KeyAgreement.EnvelopePlaintextBytes];
        Span<byte> key = stackalloc byte[KeyAgreement.SeedBytes];
        try
        {
            foreach (var envelope in delivery.Shares)
            {
                DeriveShareKey(_neighbourKeys[envelope.From].SharePublicKey, envelope.From, ClientId, key);
                if (!KeyAgreement.TryOpen(key, RoundId, envelope.From, ClientId, envelope.Ciphertext, plaintext))
                {
                    Phase = ClientPhase.Failed;
                    throw Refuse(SecAggError.AuthenticationFailed,
                        $"The share from client {envelope.From} to client {ClientId} failed AES-GCM authentication in round {RoundId}: tampered, re-addressed or from another round. Client {ClientId} stops.");
                }
                if (!Shamir.IsFieldElement(plaintext[..Shamir.ShareBytes]) || !Shamir.IsFieldElement(plaintext[Shamir.ShareBytes..]))
                {
                    Phase = ClientPhase.Failed;
                    throw Refuse(SecAggError.Malformed, $"The share from client {envelope.From} is not a field element. Client {ClientId} stops.");
                }
                opened.Add((envelope.From, Shamir.FromBytes(plaintext[..Shamir.ShareBytes]), Shamir.FromBytes(plaintext[Shamir.ShareBytes..])));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
            CryptographicOperations.ZeroMemory(key);
        }
        foreach (var (from, selfMask, maskKey) in opened) _held[from] = (selfMask, maskKey);
        Phase = ClientPhase.SharesReceived;
    }

    /// <summary>
    /// Round 2: y_u = x_u + PRG(b_u) + Σ_{v &gt; u} PRG(s_uv) − Σ_{v &lt; u} PRG(s_uv) mod 2^32. The input is any
    /// vector of ring elements, e.g. from <see cref="FixedPointEncoding"/>.
    /// </summary>
    public MaskedInput MaskInput(ReadOnlySpan<uint> input)
    {
        Expect(ClientPhase.SharesReceived, nameof(MaskInput));
        if (input.Length != _parameters.VectorLength)
            throw Refuse(SecAggError.Malformed, $"Client {ClientId}'s input has {input.Length} values; round {RoundId} aggregates vectors of {_parameters.VectorLength}.");
        var masked = input.ToArray();
        Span<byte> seed = stackalloc byte[KeyAgreement.SeedBytes];
        KeyAgreement.SelfMaskSeed(_selfMask, RoundId, ClientId, seed);
        MaskGenerator.Apply(seed, masked, subtract: false);
        foreach (int v in _held.Keys)
        {
            using (var other = ImportNeighbourKey(_neighbourKeys[v].MaskPublicKey, v))
            {
                var secret = _maskKey!.Agree(other.PublicKey);
                KeyAgreement.PairwiseMaskSeed(secret, RoundId, ClientId, v, seed);
                CryptographicOperations.ZeroMemory(secret);
            }
            MaskGenerator.Apply(seed, masked, subtract: ClientId > v);
        }
        CryptographicOperations.ZeroMemory(seed);
        Phase = ClientPhase.InputSent;
        return new MaskedInput(RoundId, ClientId, masked);
    }

    /// <summary>
    /// Round 3: reveal what the server asks — only once, never both shares of one owner, never this client's own mask
    /// key (it sent its input), never shares it does not hold, and not at all if fewer than t survived.
    /// </summary>
    public UnmaskResponse Unmask(UnmaskRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Phase == ClientPhase.Done)
            throw Refuse(SecAggError.WrongPhase, $"Client {ClientId} already answered the unmasking request of round {RoundId}; a second request is refused (it could ask for the other share of a client).");
        Expect(ClientPhase.InputSent, nameof(Unmask));
        CheckAddressed(request.RoundId, request.RecipientId, nameof(UnmaskRequest));
        if (request.SurvivorCount < _parameters.Threshold)
            throw new SecAggThresholdException(RoundId, request.SurvivorCount, _parameters.ClientCount, _parameters.Threshold, null, request.SurvivorCount,
                $"Client {ClientId} refuses to unmask round {RoundId}: the server reports {request.SurvivorCount} survivors, below the threshold of {_parameters.Threshold}.");
        var selfOwners = new HashSet<int>();
        foreach (int owner in request.RevealSelfMaskOf)
        {
            if (!selfOwners.Add(owner)) throw Refuse(SecAggError.Duplicate, $"The unmasking request asks client {ClientId} twice for client {owner}'s self-mask share.");
            if (owner != ClientId && !_held.ContainsKey(owner))
                throw Refuse(SecAggError.UnknownClient, $"The unmasking request asks client {ClientId} for client {owner}'s self-mask share, which it does not hold.");
        }
        var keyOwners = new HashSet<int>();
        foreach (int owner in request.RevealMaskKeyOf)
        {
            if (!keyOwners.Add(owner)) throw Refuse(SecAggError.Duplicate, $"The unmasking request asks client {ClientId} twice for client {owner}'s mask-key share.");
            if (owner == ClientId)
                throw Refuse(SecAggError.BothSharesRequested, $"The unmasking request asks client {ClientId} for its own mask-key share, but it sent its masked input: with b_{ClientId} that would expose its input.");
            if (selfOwners.Contains(owner))
                throw Refuse(SecAggError.BothSharesRequested,
                    $"The unmasking request asks client {ClientId} for both the self-mask share and the mask-key share of client {owner} in round {RoundId}; together they would expose client {owner}'s input. Refused.");
            if (!_held.ContainsKey(owner))
                throw Refuse(SecAggError.UnknownClient, $"The unmasking request asks client {ClientId} for client {owner}'s mask-key share, which it does not hold.");
        }
        var selfShares = request.RevealSelfMaskOf
            .Select(o => new RevealedShare(o, Shamir.ToBytes(o == ClientId ? _ownSelfMaskShare : _held[o].SelfMask))).ToArray();
        var keyShares = request.RevealMaskKeyOf.Select(o => new RevealedShare(o, Shamir.ToBytes(_held[o].MaskKey))).ToArray();
        Phase = ClientPhase.Done;
        ForgetSecrets();
        return new UnmaskResponse(RoundId, ClientId, selfShares, keyShares);
    }

    public void Dispose()
    {
        ForgetSecrets();
        _random.Dispose();
    }

    private void ForgetSecrets()
    {
        foreach (var secret in _shareSecrets.Values) CryptographicOperations.ZeroMemory(secret);
        _shareSecrets.Clear();
        _maskKey?.Dispose();
        _shareKey?.Dispose();
        _maskKey = _shareKey = null;
        _held.Clear();
    }

    private void DeriveShareKey(byte[] neighbourSharePublicKey, int from, int to, Span<byte> key)
    {
        int neighbour = from == ClientId ? to : from;
        if (!_shareSecrets.TryGetValue(neighbour, out var secret))
        {
            using var other = ImportNeighbourKey(neighbourSharePublicKey, neighbour);
            secret = _shareKey!.Agree(other.PublicKey);
            _shareSecrets[neighbour] = secret;
        }
        KeyAgreement.ShareKey(secret, RoundId, from, to, key);
    }

    private ECDiffieHellman ImportNeighbourKey(byte[] publicKey, int owner)
    {
        try
        {
            return KeyAgreement.ImportPublicKey(publicKey);
        }
        catch (CryptographicException e)
        {
            throw Refuse(SecAggError.Malformed, $"A public key of client {owner} is not a P-256 point ({e.Message}).");
        }
    }

    private void Expect(ClientPhase phase, string step)
    {
        if (Phase != phase)
            throw Refuse(SecAggError.WrongPhase, $"Client {ClientId} is in phase {Phase} of round {RoundId}; {step} needs phase {phase}.");
    }

    private void CheckAddressed(long roundId, int recipient, string what)
    {
        if (roundId != RoundId)
            throw Refuse(SecAggError.WrongRound, $"{what} of round {roundId} reached client {ClientId} in round {RoundId}: a replay or a stale message, refused.");
        if (recipient != ClientId)
            throw Refuse(SecAggError.UnknownClient, $"{what} for client {recipient} reached client {ClientId}.");
    }

    private SecAggException Refuse(SecAggError error, string message) => new(error, RoundId, message);
}
