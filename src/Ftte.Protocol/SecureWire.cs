using System.Buffers.Binary;
using Ftte.Federation.Privacy.SecAgg;
using Google.Protobuf;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Protocol;

/// <summary>
/// Secure aggregation's records (Ftte.Federation.Privacy.SecAgg) ↔ ftte.v1 messages, and the masked upload's bytes.
/// Shapes are checked by the SecAgg state machines (sizes, rounds, members); here only what the conversion needs.
/// </summary>
public static class SecureWire
{
    /// <summary>UpdateChunk.codec of a masked input.</summary>
    public const string MaskedCodec = "masked";

    public static V1.SecAggParameters ToWire(SecAggParameters p) => new()
    {
        RoundId = p.RoundId, ClientCount = p.ClientCount, VectorLength = p.VectorLength, Neighbours = p.Neighbours, Threshold = p.Threshold, GraphSeed = p.GraphSeed,
    };

    public static SecAggParameters FromWire(V1.SecAggParameters p) => new()
    {
        RoundId = p.RoundId, ClientCount = p.ClientCount, VectorLength = p.VectorLength, Neighbours = p.Neighbours, Threshold = p.Threshold, GraphSeed = p.GraphSeed,
    };

    public static V1.SecAggAdvertise ToWire(AdvertiseKeys a) => new()
    {
        RoundId = a.RoundId, ClientId = a.ClientId, MaskPublicKey = ByteString.CopyFrom(a.MaskPublicKey),
        SharePublicKey = ByteString.CopyFrom(a.SharePublicKey), SelfMaskCommitment = ByteString.CopyFrom(a.SelfMaskCommitment),
    };

    public static AdvertiseKeys FromWire(V1.SecAggAdvertise a) =>
        new(a.RoundId, a.ClientId, a.MaskPublicKey.ToByteArray(), a.SharePublicKey.ToByteArray(), a.SelfMaskCommitment.ToByteArray());

    public static V1.SecAggKeys ToWire(KeysBroadcast b)
    {
        var wire = new V1.SecAggKeys { RoundId = b.RoundId, RecipientId = b.RecipientId };
        wire.Neighbours.AddRange(b.Neighbours.Select(ToWire));
        return wire;
    }

    public static KeysBroadcast FromWire(V1.SecAggKeys b) => new(b.RoundId, b.RecipientId, [.. b.Neighbours.Select(FromWire)]);

    private static V1.SecAggEncryptedShare ToWire(EncryptedShare s) => new() { From = s.From, To = s.To, Ciphertext = ByteString.CopyFrom(s.Ciphertext) };
    private static EncryptedShare FromWire(V1.SecAggEncryptedShare s) => new(s.From, s.To, s.Ciphertext.ToByteArray());

    public static V1.SecAggShareKeys ToWire(ShareKeys s)
    {
        var wire = new V1.SecAggShareKeys { RoundId = s.RoundId, ClientId = s.ClientId };
        wire.Shares.AddRange(s.Shares.Select(ToWire));
        return wire;
    }

    public static ShareKeys FromWire(V1.SecAggShareKeys s) => new(s.RoundId, s.ClientId, [.. s.Shares.Select(FromWire)]);

    public static V1.SecAggDelivery ToWire(SharesDelivery d, MaskPlan plan)
    {
        var wire = new V1.SecAggDelivery
        {
            RoundId = d.RoundId, RecipientId = d.RecipientId,
            Plan = new V1.SecAggMaskPlan
            {
                Weight = plan.Weight, ClipNorm = plan.ClipNorm ?? 0, NoiseStddev = plan.NoiseStddev, ValueRange = plan.ValueRange,
                RingBits = plan.RingBits, ValueBits = plan.ValueBits ?? 0, GroupSize = plan.GroupSize,
            },
        };
        wire.Shares.AddRange(d.Shares.Select(ToWire));
        return wire;
    }

    /// <summary>The device's reading of its delivery; a plan it cannot use is an error naming the field.</summary>
    public static (SharesDelivery Delivery, MaskPlan Plan) FromWire(V1.SecAggDelivery d)
    {
        var p = d.Plan ?? throw new FormatException("The shares arrived without their encoding plan.");
        if (!(p.Weight is >= 0 and <= 1)) throw new FormatException($"plan.weight {p.Weight} is outside [0, 1].");
        if (!(p.ClipNorm >= 0) || !(p.NoiseStddev >= 0) || !(p.ValueRange > 0) || double.IsInfinity(p.ValueRange))
            throw new FormatException($"plan has clip {p.ClipNorm}, noise {p.NoiseStddev}, range {p.ValueRange}: expected clip ≥ 0, noise ≥ 0, a finite range > 0.");
        if (p.RingBits is not (16 or 32)) throw new FormatException($"plan.ring_bits {p.RingBits}: expected 16 or 32.");
        if (p.GroupSize < 2) throw new FormatException($"plan.group_size {p.GroupSize}: a group has at least 2 members.");
        var plan = new MaskPlan(p.Weight, p.ClipNorm > 0 ? p.ClipNorm : null, p.NoiseStddev, p.ValueRange, p.RingBits, p.ValueBits > 0 ? p.ValueBits : null, p.GroupSize);
        try { _ = plan.Encoding(); }
        catch (ArgumentException e) { throw new FormatException($"plan cannot encode: {e.Message}"); }
        return (new SharesDelivery(d.RoundId, d.RecipientId, [.. d.Shares.Select(FromWire)]), plan);
    }

    public static V1.SecAggUnmaskRequest ToWire(UnmaskRequest r)
    {
        var wire = new V1.SecAggUnmaskRequest { RoundId = r.RoundId, RecipientId = r.RecipientId, SurvivorCount = r.SurvivorCount };
        wire.RevealSelfMaskOf.AddRange(r.RevealSelfMaskOf);
        wire.RevealMaskKeyOf.AddRange(r.RevealMaskKeyOf);
        return wire;
    }

    public static UnmaskRequest FromWire(V1.SecAggUnmaskRequest r) =>
        new(r.RoundId, r.RecipientId, r.SurvivorCount, [.. r.RevealSelfMaskOf], [.. r.RevealMaskKeyOf]);

    public static V1.SecAggUnmaskResponse ToWire(UnmaskResponse r)
    {
        var wire = new V1.SecAggUnmaskResponse { RoundId = r.RoundId, ClientId = r.ClientId };
        wire.SelfMaskShares.AddRange(r.SelfMaskShares.Select(s => new V1.SecAggRevealedShare { Owner = s.Owner, Share = ByteString.CopyFrom(s.Share) }));
        wire.MaskKeyShares.AddRange(r.MaskKeyShares.Select(s => new V1.SecAggRevealedShare { Owner = s.Owner, Share = ByteString.CopyFrom(s.Share) }));
        return wire;
    }

    public static UnmaskResponse FromWire(V1.SecAggUnmaskResponse r) => new(r.RoundId, r.ClientId,
        [.. r.SelfMaskShares.Select(s => new RevealedShare(s.Owner, s.Share.ToByteArray()))],
        [.. r.MaskKeyShares.Select(s => new RevealedShare(s.Owner, s.Share.ToByteArray()))]);

    /// <summary>Bytes of a masked input of <paramref name="words"/> words in a 2^<paramref name="ringBits"/> ring.</summary>
    public static long MaskedBytes(int words, int ringBits) => new Federation.MaskedUpload(ringBits / 8).Bytes(words);

    /// <summary>The masked upload: round id, member index, word count, then the words (little-endian, ring_bits/8 bytes each).</summary>
    public static byte[] EncodeMasked(MaskedInput input, int ringBits)
    {
        int size = ringBits / 8;
        var bytes = new byte[MaskedBytes(input.Values.Length, ringBits)];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, input.RoundId);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), input.ClientId);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), input.Values.Length);
        for (int i = 0; i < input.Values.Length; i++)
        {
            var at = bytes.AsSpan(16 + i * size, size);
            if (size == 2) BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)input.Values[i]);
            else BinaryPrimitives.WriteUInt32LittleEndian(at, input.Values[i]);
        }
        return bytes;
    }

    /// <summary>The inverse of <see cref="EncodeMasked"/>; a payload of another size or word count is refused.</summary>
    public static MaskedInput DecodeMasked(ReadOnlySpan<byte> payload, int words, int ringBits)
    {
        int size = ringBits / 8;
        if (payload.Length != MaskedBytes(words, ringBits))
            throw new FormatException($"a masked input of {words:N0} {ringBits}-bit words is {MaskedBytes(words, ringBits):N0} bytes; got {payload.Length:N0}.");
        int count = BinaryPrimitives.ReadInt32LittleEndian(payload[12..]);
        if (count != words) throw new FormatException($"the masked input says {count:N0} words; the task has {words:N0} trained values.");
        var values = new uint[words];
        for (int i = 0; i < words; i++)
        {
            var at = payload.Slice(16 + i * size, size);
            values[i] = size == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(at) : BinaryPrimitives.ReadUInt32LittleEndian(at);
        }
        return new MaskedInput(BinaryPrimitives.ReadInt64LittleEndian(payload), BinaryPrimitives.ReadInt32LittleEndian(payload[8..]), values);
    }
}
