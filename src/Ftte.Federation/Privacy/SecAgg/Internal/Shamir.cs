using System.Numerics;

namespace Ftte.Federation.Privacy.SecAgg.Internal;

/// <summary>
/// Shamir t-of-n secret sharing (Shamir 1979) over the prime field Z_q, q = the order of the NIST P-256 group:
/// q = 2^256 − 2^224 + 2^192 − 89188191075325690597107910205041859247 (FIPS 186-4, D.1.2.3).
/// <para>Why this prime: both secrets a client shares are 256-bit values below it without chunking — the
/// mask private key is by definition a scalar in [1, q), and the self-mask seed b_u is drawn uniformly from
/// [1, q) (a 32-byte string fails that with probability ~2^−32 and is drawn again). q is a published, well-known
/// prime, so there is no primality claim of our own to trust.</para>
/// <para>f(x) = s + a_1 x + … + a_{t−1} x^{t−1} with uniform a_j; the holder with client id h receives f(h + 1)
/// (x = 0 is the secret). Any t shares give s by Lagrange interpolation at 0; t − 1 reveal nothing.</para>
/// </summary>
internal static class Shamir
{
    public static readonly BigInteger Prime = BigInteger.Parse(
        "0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);

    public const int ShareBytes = 32;

    /// <summary>The evaluation point of a holder: its client id + 1 (never 0, always below q).</summary>
    public static BigInteger PointOf(int holder) => holder + 1;

    /// <summary>shares[i] = f(PointOf(holders[i])) for a fresh random polynomial of degree threshold − 1 with f(0) = secret.</summary>
    public static void Split(BigInteger secret, int threshold, ReadOnlySpan<int> holders, SessionRandom random, Span<BigInteger> shares)
    {
        if (secret.Sign < 0 || secret >= Prime) throw new ArgumentOutOfRangeException(nameof(secret), "The secret must be an element of the field.");
        if (threshold < 1 || threshold > holders.Length) throw new ArgumentOutOfRangeException(nameof(threshold));
        var coefficients = new BigInteger[threshold];
        coefficients[0] = secret;
        for (int j = 1; j < threshold; j++) coefficients[j] = random.Below(Prime);
        for (int i = 0; i < holders.Length; i++)
        {
            BigInteger x = PointOf(holders[i]), y = BigInteger.Zero;
            for (int j = threshold - 1; j >= 0; j--) y = (y * x + coefficients[j]) % Prime;   // Horner
            shares[i] = y;
        }
        coefficients.AsSpan().Clear();
    }

    /// <summary>
    /// f(0) by Lagrange interpolation through every given point: s = Σ_j y_j Π_{m≠j} x_m / (x_m − x_j).
    /// The t denominators are inverted together (Montgomery's trick: one modular inversion per secret).
    /// </summary>
    public static BigInteger Reconstruct(ReadOnlySpan<int> holders, ReadOnlySpan<BigInteger> shares)
    {
        int n = holders.Length;
        if (n == 0 || shares.Length != n) throw new ArgumentException("Reconstruction needs one share per holder.");
        var numerators = new BigInteger[n];
        var denominators = new BigInteger[n];
        for (int j = 0; j < n; j++)
        {
            BigInteger num = BigInteger.One, den = BigInteger.One, xj = PointOf(holders[j]);
            for (int m = 0; m < n; m++)
            {
                if (m == j) continue;
                BigInteger xm = PointOf(holders[m]);
                num = num * xm % Prime;
                den = den * Mod(xm - xj) % Prime;
            }
            if (den.IsZero) throw new ArgumentException("Two shares come from the same holder.");
            numerators[j] = num;
            denominators[j] = den;
        }
        // prefix[j] = d_0 ⋯ d_{j−1}; inv = (d_0 ⋯ d_{n−1})^−1; walk back to get each d_j^−1.
        var prefix = new BigInteger[n + 1];
        prefix[0] = BigInteger.One;
        for (int j = 0; j < n; j++) prefix[j + 1] = prefix[j] * denominators[j] % Prime;
        BigInteger inverse = BigInteger.ModPow(prefix[n], Prime - 2, Prime);   // Fermat: q is prime
        BigInteger secret = BigInteger.Zero;
        for (int j = n - 1; j >= 0; j--)
        {
            BigInteger inverseOfDj = inverse * prefix[j] % Prime;
            inverse = inverse * denominators[j] % Prime;
            secret = (secret + shares[j] * numerators[j] % Prime * inverseOfDj) % Prime;
        }
        return secret;
    }

    public static byte[] ToBytes(BigInteger value)
    {
        var bytes = new byte[ShareBytes];
        if (!value.TryWriteBytes(bytes.AsSpan(ShareBytes - value.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true))
            throw new InvalidOperationException("Field element does not fit 32 bytes.");
        return bytes;
    }

    public static void Write(BigInteger value, Span<byte> destination)
    {
        destination[..ShareBytes].Clear();
        if (!value.TryWriteBytes(destination[(ShareBytes - value.GetByteCount(isUnsigned: true))..ShareBytes], out _, isUnsigned: true, isBigEndian: true))
            throw new InvalidOperationException("Field element does not fit 32 bytes.");
    }

    public static BigInteger FromBytes(ReadOnlySpan<byte> bytes) => new(bytes, isUnsigned: true, isBigEndian: true);

    public static bool IsFieldElement(ReadOnlySpan<byte> bytes) => bytes.Length == ShareBytes && FromBytes(bytes) < Prime;

    private static BigInteger Mod(BigInteger a)
    {
        var r = a % Prime;
        return r.Sign < 0 ? r + Prime : r;
    }
}
