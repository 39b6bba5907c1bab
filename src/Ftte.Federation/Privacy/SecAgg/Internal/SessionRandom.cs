using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace Ftte.Federation.Privacy.SecAgg.Internal;

/// <summary>
/// Where a session's secrets come from: the operating system's CSPRNG, or — for simulations and tests that must
/// replay from a seed — AES-256-CTR keyed by SHA-256(seed, round, client). A 64-bit seed is guessable, so a seeded
/// session protects nothing against a server that knows the seed: real devices pass no seed.
/// </summary>
internal sealed class SessionRandom : IDisposable
{
    private readonly Aes? _aes;
    private readonly byte[] _counter = new byte[16];
    private readonly byte[] _block = new byte[16];
    private int _used = 16;

    private SessionRandom(Aes? aes) => _aes = aes;

    public static SessionRandom System() => new(null);

    public static SessionRandom Seeded(ulong seed, long roundId, int clientId)
    {
        Span<byte> material = stackalloc byte[64];
        "ftte-secagg/v1 seeded-randomness"u8.CopyTo(material);
        BinaryPrimitives.WriteUInt64BigEndian(material[32..], seed);
        BinaryPrimitives.WriteInt64BigEndian(material[40..], roundId);
        BinaryPrimitives.WriteInt32BigEndian(material[48..], clientId);
        var aes = Aes.Create();
        aes.Key = SHA256.HashData(material[..52]);
        return new SessionRandom(aes);
    }

    public bool IsSeeded => _aes is not null;

    public void Fill(Span<byte> destination)
    {
        if (_aes is null)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }
        for (int i = 0; i < destination.Length; i++)
        {
            if (_used == 16)
            {
                _aes.EncryptEcb(_counter, _block, PaddingMode.None);
                BinaryPrimitives.WriteUInt64BigEndian(_counter.AsSpan(8), BinaryPrimitives.ReadUInt64BigEndian(_counter.AsSpan(8)) + 1);
                _used = 0;
            }
            destination[i] = _block[_used++];
        }
    }

    /// <summary>A uniform integer in [1, bound) by rejection (bound is a 256-bit prime here: rejections are ~2^−32 rare).</summary>
    public BigInteger Below(BigInteger bound)
    {
        Span<byte> bytes = stackalloc byte[32];
        while (true)
        {
            Fill(bytes);
            var value = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
            if (!value.IsZero && value < bound) return value;
        }
    }

    public void Dispose()
    {
        _aes?.Dispose();
        CryptographicOperations.ZeroMemory(_block);
    }
}
