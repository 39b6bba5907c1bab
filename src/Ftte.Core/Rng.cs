using System.Numerics;
using System.Runtime.CompilerServices;

namespace Ftte.Core;

/// <summary>
/// Deterministic pseudo-random generator (xoshiro256**, Blackman &amp; Vigna 2018) seeded through
/// SplitMix64. Ours rather than <see cref="Random"/> so that a seed means the same stream on every
/// runtime version and platform: every experiment in FTTE.NET replays from its seed.
/// Not thread-safe; give each worker its own instance (see <see cref="Fork"/>).
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareGaussian;
    private bool _hasSpare;

    public Rng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>A generator for a named sub-stream: same (seed, stream) → same numbers, independent of call order elsewhere.</summary>
    public static Rng ForStream(ulong seed, ulong stream) => new(Mix(seed, stream));

    /// <summary>Derives an independent child generator and advances this one.</summary>
    public Rng Fork() => new(NextUInt64());

    /// <summary>Mixes two 64-bit values into one well-distributed seed (SplitMix64 finaliser).</summary>
    public static ulong Mix(ulong a, ulong b)
    {
        ulong x = a ^ (b * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL);
        return SplitMix64(ref x);
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform integer in [0, n), unbiased (Lemire 2019, multiply-and-reject).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "The upper bound must be positive.");
        ulong range = (ulong)n;
        ulong m = Math.BigMul(NextUInt64(), range, out ulong low);
        if (low < range)
        {
            ulong threshold = (0UL - range) % range;
            while (low < threshold) m = Math.BigMul(NextUInt64(), range, out low);
        }
        return (int)m;
    }

    /// <summary>Uniform in [lo, hi).</summary>
    public float Uniform(float lo, float hi) => lo + (hi - lo) * NextSingle();

    /// <summary>Standard normal variate (Marsaglia polar method; the spare is kept for the next call).</summary>
    private Func<double>? _uniform;

    public double NextGaussian()
    {
        if (_hasSpare) { _hasSpare = false; return _spareGaussian; }
        // The delegate is made once per generator: a method group converted per call would allocate on every draw.
        (double first, _spareGaussian) = PolarPair(_uniform ??= NextDouble);
        _hasSpare = true;
        return first;
    }

    /// <summary>
    /// Two independent standard normal variates from uniforms in [0, 1) (Marsaglia's polar method): shared by this
    /// generator and by sources of other uniforms (the DP layer's cryptographic noise).
    /// </summary>
    public static (double, double) PolarPair(Func<double> uniform)
    {
        double u, v, s;
        do
        {
            u = 2.0 * uniform() - 1.0;
            v = 2.0 * uniform() - 1.0;
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        double f = Math.Sqrt(-2.0 * Math.Log(s) / s);
        return (u * f, v * f);
    }

    /// <summary>Gamma(shape, 1) variate (Marsaglia &amp; Tsang 2000; shape &lt; 1 by the boost Gamma(a+1)·U^(1/a)).</summary>
    public double NextGamma(double shape)
    {
        if (!(shape > 0)) throw new ArgumentOutOfRangeException(nameof(shape), shape, "Gamma shape must be positive.");
        if (shape < 1.0)
        {
            double u = NextDouble();
            while (u == 0.0) u = NextDouble();
            return NextGamma(shape + 1.0) * Math.Pow(u, 1.0 / shape);
        }
        double d = shape - 1.0 / 3.0, c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do { x = NextGaussian(); v = 1.0 + c * x; } while (v <= 0);
            v = v * v * v;
            double u = NextDouble();
            if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
            if (Math.Log(u) < 0.5 * x * x + d * (1.0 - v + Math.Log(v))) return d * v;
        }
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
