using System.Buffers.Binary;
using System.Security.Cryptography;
using Ftte.Core;

namespace Ftte.Federation.Privacy;

/// <summary>
/// Where the mechanisms' Gaussian noise comes from. <see cref="Seeded(ulong)"/> replays exactly (simulations, tests);
/// a deployment must use <see cref="Secure"/>: noise from a seeded xoshiro stream can be regenerated, and removed, by
/// anyone who learns the seed, and the generator is not cryptographic. Not thread-safe.
/// </summary>
public abstract class NoiseSource
{
    /// <summary>A standard normal variate.</summary>
    public abstract double NextGaussian();

    /// <summary>Deterministic noise from <see cref="Rng"/> (Marsaglia's polar method, <see cref="Rng.NextGaussian"/>).</summary>
    public static NoiseSource Seeded(ulong seed) => new RngNoise(new Rng(seed));

    /// <summary>Deterministic noise drawn from <paramref name="rng"/>, which it advances.</summary>
    public static NoiseSource From(Rng rng) => new RngNoise(rng ?? throw new ArgumentNullException(nameof(rng)));

    /// <summary>Noise from the operating system's cryptographic generator (<see cref="RandomNumberGenerator"/>).</summary>
    public static NoiseSource Secure() => new SecureNoise();

    private sealed class RngNoise(Rng rng) : NoiseSource
    {
        public override double NextGaussian() => rng.NextGaussian();
    }

    /// <summary>Marsaglia's polar method over 53-bit uniforms from a buffered CSPRNG.</summary>
    private sealed class SecureNoise : NoiseSource
    {
        private readonly byte[] _buffer = new byte[4096];
        private int _position = 4096;
        private double _spare;
        private Func<double>? _uniform;
        private bool _hasSpare;

        public override double NextGaussian()
        {
            if (_hasSpare) { _hasSpare = false; return _spare; }
            (double first, _spare) = Rng.PolarPair(_uniform ??= NextDouble);
            _hasSpare = true;
            return first;
        }

        private double NextDouble()
        {
            if (_position + 8 > _buffer.Length)
            {
                RandomNumberGenerator.Fill(_buffer);
                _position = 0;
            }
            ulong bits = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.AsSpan(_position, 8));
            _position += 8;
            return (bits >> 11) * (1.0 / (1UL << 53));
        }
    }
}
