using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace Ftte.Federation.Privacy.SecAgg.Internal;

/// <summary>
/// A P-256 key pair whose private scalar is known (so it can be Shamir-shared and, for a dropped client,
/// rebuilt by the server). Public keys travel as the 64-byte uncompressed point X ‖ Y (no 0x04 prefix).
/// </summary>
internal sealed class P256KeyPair : IDisposable
{
    public const int PublicKeyBytes = 64;
    private readonly ECDiffieHellman _key;

    private P256KeyPair(ECDiffieHellman key, byte[] privateScalar, byte[] publicKey)
    {
        _key = key;
        PrivateScalar = privateScalar;
        PublicKey = publicKey;
    }

    /// <summary>The private scalar d ∈ [1, q), 32 bytes big-endian.</summary>
    public byte[] PrivateScalar { get; }
    /// <summary>X ‖ Y of d·G.</summary>
    public byte[] PublicKey { get; }

    public static P256KeyPair Generate(SessionRandom random) => FromScalar(Shamir.ToBytes(random.Below(Shamir.Prime)));

    /// <summary>Imports d (the SDK computes Q = d·G).</summary>
    public static P256KeyPair FromScalar(byte[] privateScalar)
    {
        var key = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = privateScalar });
        var q = key.ExportParameters(includePrivateParameters: false).Q;
        var publicKey = new byte[PublicKeyBytes];
        q.X.AsSpan().CopyTo(publicKey);
        q.Y.AsSpan().CopyTo(publicKey.AsSpan(32));
        return new P256KeyPair(key, privateScalar, publicKey);
    }

    /// <summary>The raw ECDH shared secret (the x-coordinate of d·Q_other, 32 bytes).</summary>
    public byte[] Agree(ECDiffieHellmanPublicKey other) => _key.DeriveRawSecretAgreement(other);

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(PrivateScalar);
        _key.Dispose();
    }
}

/// <summary>
/// Every derivation of the protocol, in one place so client and server cannot drift apart. All keys come from
/// HKDF-SHA256 (RFC 5869) with salt "ftte-secagg/v1" ‖ round id (8 bytes, big-endian) and an info string that
/// names the purpose and the clients (4-byte big-endian ids), so no key ever serves two rounds or two purposes.
/// </summary>
internal static class KeyAgreement
{
    public const int SeedBytes = 32;
    public const int TagBytes = 16;
    /// <summary>Plaintext of a share envelope: the share of b_u ‖ the share of the mask private key.</summary>
    public const int EnvelopePlaintextBytes = 2 * Shamir.ShareBytes;
    public const int EnvelopeBytes = EnvelopePlaintextBytes + TagBytes;

    /// <summary>Imports a neighbour's X ‖ Y; the SDK checks the point lies on P-256.</summary>
    public static ECDiffieHellman ImportPublicKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != P256KeyPair.PublicKeyBytes)
            throw new CryptographicException($"A P-256 public key is {P256KeyPair.PublicKeyBytes} bytes (X ‖ Y), not {publicKey.Length}.");
        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = publicKey[..32].ToArray(), Y = publicKey[32..].ToArray() },
        });
    }

    public static bool IsValidPublicKey(ReadOnlySpan<byte> publicKey)
    {
        try
        {
            using var key = ImportPublicKey(publicKey);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>s_{u,v}: the seed of the pairwise mask of u and v (symmetric in u, v).</summary>
    public static void PairwiseMaskSeed(ReadOnlySpan<byte> sharedSecret, long roundId, int u, int v, Span<byte> seed)
    {
        Span<byte> info = stackalloc byte[12];
        "mask"u8.CopyTo(info);
        BinaryPrimitives.WriteInt32BigEndian(info[4..], Math.Min(u, v));
        BinaryPrimitives.WriteInt32BigEndian(info[8..], Math.Max(u, v));
        Derive(sharedSecret, roundId, info, seed);
    }

    /// <summary>The AES-GCM key that carries from's shares to to (one key per direction, used for exactly one message).</summary>
    public static void ShareKey(ReadOnlySpan<byte> sharedSecret, long roundId, int from, int to, Span<byte> key)
    {
        Span<byte> info = stackalloc byte[13];
        "share"u8.CopyTo(info);
        BinaryPrimitives.WriteInt32BigEndian(info[5..], from);
        BinaryPrimitives.WriteInt32BigEndian(info[9..], to);
        Derive(sharedSecret, roundId, info, key);
    }

    /// <summary>The AES key of client u's self-mask, from its seed b_u.</summary>
    public static void SelfMaskSeed(BigInteger selfMask, long roundId, int u, Span<byte> seed)
    {
        Span<byte> ikm = stackalloc byte[Shamir.ShareBytes];
        Shamir.Write(selfMask, ikm);
        Span<byte> info = stackalloc byte[8];
        "self"u8.CopyTo(info);
        BinaryPrimitives.WriteInt32BigEndian(info[4..], u);
        Derive(ikm, roundId, info, seed);
        CryptographicOperations.ZeroMemory(ikm);
    }

    /// <summary>SHA-256 commitment to b_u, published with the keys so the server can verify the b_u it rebuilds.</summary>
    public static byte[] Commit(BigInteger selfMask, long roundId, int u)
    {
        Span<byte> material = stackalloc byte[32 + 8 + 4 + Shamir.ShareBytes];
        "ftte-secagg/v1 self-mask commit\0"u8.CopyTo(material);
        BinaryPrimitives.WriteInt64BigEndian(material[32..], roundId);
        BinaryPrimitives.WriteInt32BigEndian(material[40..], u);
        Shamir.Write(selfMask, material[44..]);
        var hash = SHA256.HashData(material);
        CryptographicOperations.ZeroMemory(material);
        return hash;
    }

    /// <summary>
    /// AES-256-GCM over the two shares. The associated data binds round, sender and recipient, so an envelope
    /// replayed from another round or re-addressed by the server fails authentication. The key is used for this
    /// single message, so a fixed all-zero nonce is safe (and saves 12 bytes per envelope).
    /// </summary>
    public static byte[] Seal(ReadOnlySpan<byte> key, long roundId, int from, int to, ReadOnlySpan<byte> plaintext)
    {
        var envelope = new byte[EnvelopeBytes];
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        using var gcm = new AesGcm(key, TagBytes);
        gcm.Encrypt(nonce, plaintext, envelope.AsSpan(0, EnvelopePlaintextBytes), envelope.AsSpan(EnvelopePlaintextBytes), AssociatedData(roundId, from, to));
        return envelope;
    }

    /// <summary>Opens an envelope; false when authentication fails (tampered, misrouted or from another round).</summary>
    public static bool TryOpen(ReadOnlySpan<byte> key, long roundId, int from, int to, ReadOnlySpan<byte> envelope, Span<byte> plaintext)
    {
        if (envelope.Length != EnvelopeBytes) return false;
        Span<byte> nonce = stackalloc byte[12];
        nonce.Clear();
        using var gcm = new AesGcm(key, TagBytes);
        try
        {
            gcm.Decrypt(nonce, envelope[..EnvelopePlaintextBytes], envelope[EnvelopePlaintextBytes..], plaintext, AssociatedData(roundId, from, to));
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private static byte[] AssociatedData(long roundId, int from, int to)
    {
        var ad = new byte[14 + 8 + 4 + 4];
        "ftte-secagg/v1"u8.CopyTo(ad);
        BinaryPrimitives.WriteInt64BigEndian(ad.AsSpan(14), roundId);
        BinaryPrimitives.WriteInt32BigEndian(ad.AsSpan(22), from);
        BinaryPrimitives.WriteInt32BigEndian(ad.AsSpan(26), to);
        return ad;
    }

    private static void Derive(ReadOnlySpan<byte> ikm, long roundId, ReadOnlySpan<byte> info, Span<byte> output)
    {
        Span<byte> salt = stackalloc byte[14 + 8];
        "ftte-secagg/v1"u8.CopyTo(salt);
        BinaryPrimitives.WriteInt64BigEndian(salt[14..], roundId);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, output, salt, info);
    }
}
