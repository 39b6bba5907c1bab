namespace Ftte.Federation.Privacy.SecAgg;

// The messages of one SecAgg+ round, as plain records so the server, the simulator and the wire protocol can
// carry them as they like. Every one names its round: a message from another round is a replay and is refused.
//
//   client                                   server
//   AdvertiseKeys ─────────────────────────▶ (U1: advertised)         round 0: two P-256 public keys + commitment to b_u
//                 ◀───────────────────────── KeysBroadcast            the advertised neighbours' keys
//   ShareKeys     ─────────────────────────▶ (U2: shared)             round 1: Shamir shares of b_u and s_u, AES-GCM sealed
//                 ◀───────────────────────── SharesDelivery           shares addressed to the client
//   MaskedInput   ─────────────────────────▶ (U3: survivors)          round 2: y_u = x_u + PRG(b_u) + Σ± PRG(s_uv) mod 2^32
//                 ◀───────────────────────── UnmaskRequest            whose b to reveal (survivors), whose s (dropped)
//   UnmaskResponse ────────────────────────▶ (U4) → SecAggResult      round 3: the sum, unmasked
//
// WireBytes is the size in a plain binary framing — fields back to back, ids 4 bytes, round 8 bytes, lists with a
// 4-byte count — the figure the benchmark reports; a protobuf encoding differs by a few bytes per field.

/// <summary>Round 0, client → server: the client's two public keys and a commitment to its self-mask seed.</summary>
/// <param name="MaskPublicKey">P-256 X ‖ Y (64 bytes) of the key whose agreements seed the pairwise masks.</param>
/// <param name="SharePublicKey">P-256 X ‖ Y (64 bytes) of the key whose agreements encrypt the shares.</param>
/// <param name="SelfMaskCommitment">SHA-256 commitment to b_u (32 bytes): lets the server check the b_u it rebuilds.</param>
public sealed record AdvertiseKeys(long RoundId, int ClientId, byte[] MaskPublicKey, byte[] SharePublicKey, byte[] SelfMaskCommitment)
{
    public int WireBytes => 8 + 4 + MaskPublicKey.Length + SharePublicKey.Length + SelfMaskCommitment.Length;
}

/// <summary>Round 0, server → client: the advertisements of the recipient's neighbours that advertised in time.</summary>
public sealed record KeysBroadcast(long RoundId, int RecipientId, IReadOnlyList<AdvertiseKeys> Neighbours)
{
    public int WireBytes => 8 + 4 + 4 + Neighbours.Sum(a => a.WireBytes);
}

/// <summary>From's shares of b_from and s_from for holder To, sealed with AES-256-GCM (64 bytes + 16-byte tag).</summary>
public sealed record EncryptedShare(int From, int To, byte[] Ciphertext)
{
    public int WireBytes => 4 + 4 + Ciphertext.Length;
}

/// <summary>Round 1, client → server: one envelope per advertised neighbour (the client keeps its own share).</summary>
public sealed record ShareKeys(long RoundId, int ClientId, IReadOnlyList<EncryptedShare> Shares)
{
    public int WireBytes => 8 + 4 + 4 + Shares.Sum(s => s.WireBytes);
}

/// <summary>Round 1, server → client: the envelopes addressed to the recipient. Their senders are the neighbours it masks with.</summary>
public sealed record SharesDelivery(long RoundId, int RecipientId, IReadOnlyList<EncryptedShare> Shares)
{
    public int WireBytes => 8 + 4 + 4 + Shares.Sum(s => s.WireBytes);
}

/// <summary>Round 2, client → server: the masked input y_u, <see cref="SecAggParameters.VectorLength"/> words of Z_2^32.</summary>
public sealed record MaskedInput(long RoundId, int ClientId, uint[] Values)
{
    public int WireBytes => 8 + 4 + 4 + 4 * Values.Length;
}

/// <summary>
/// Round 3, server → client: reveal the self-mask shares of these surviving holders' owners and the mask-key
/// shares of these dropped ones. The two lists never share a client; a client refuses a request where they do.
/// </summary>
/// <param name="SurvivorCount">|U3|: clients whose masked input the sum holds; a client refuses to unmask fewer than t.</param>
public sealed record UnmaskRequest(long RoundId, int RecipientId, int SurvivorCount, IReadOnlyList<int> RevealSelfMaskOf, IReadOnlyList<int> RevealMaskKeyOf)
{
    public int WireBytes => 8 + 4 + 4 + 4 + 4 * RevealSelfMaskOf.Count + 4 + 4 * RevealMaskKeyOf.Count;
}

/// <summary>One revealed Shamir share (32 bytes, big-endian field element) of <paramref name="Owner"/>'s secret.</summary>
public sealed record RevealedShare(int Owner, byte[] Share)
{
    public int WireBytes => 4 + Share.Length;
}

/// <summary>Round 3, client → server: exactly the shares the request asked for.</summary>
public sealed record UnmaskResponse(long RoundId, int ClientId, IReadOnlyList<RevealedShare> SelfMaskShares, IReadOnlyList<RevealedShare> MaskKeyShares)
{
    public int WireBytes => 8 + 4 + 4 + SelfMaskShares.Sum(s => s.WireBytes) + 4 + MaskKeyShares.Sum(s => s.WireBytes);
}

/// <summary>The round's outcome: Σ_{u ∈ Survivors} x_u mod 2^32, with who contributed and who dropped.</summary>
/// <param name="Sum">The unmasked sum of the survivors' inputs; decode with <see cref="FixedPointEncoding"/>.</param>
/// <param name="Survivors">Clients whose input is in the sum (U3), ascending.</param>
/// <param name="Dropped">Clients that shared keys but sent no input (U2 \ U3); their pairwise masks were removed.</param>
/// <param name="SuspectedClients">Holders whose revealed share was wrong and was left out (the sum is still correct).</param>
public sealed record SecAggResult(long RoundId, uint[] Sum, IReadOnlyList<int> Survivors, IReadOnlyList<int> Dropped, IReadOnlyList<int> SuspectedClients);
