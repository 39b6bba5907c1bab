using System.Buffers.Binary;
using System.Numerics.Tensors;
using Ftte.Core;
using Ftte.Federation.Compression.Internal;

namespace Ftte.Federation.Compression;

/// <summary>
/// Unbiased stochastic quantisation to b ∈ {8, 4, 2} bits with one scale per block of B values: QSGD's randomised
/// rounding (Alistarh et al. 2017, §3) applied per bucket (their bucketing), with the bucket's ℓ∞ norm as the scale
/// as in TernGrad (Wen et al. 2017), whose ternary quantiser is the 2-bit case here.
/// <code>
/// per block (the last may be shorter):  m = max|x_i|  (float32)
///   levels q ∈ {−s, …, s}, s = 2^(b−1) − 1   (127, 7, 1: symmetric, so 0 is exact)
///   y_i = x_i / m · s ∈ [−s, s];  q_i = ⌊y_i⌋ + 1 with probability y_i − ⌊y_i⌋, else ⌊y_i⌋   ⇒ E[q_i] = y_i
///   x̂_i = q_i · m / s  (the product in double, then rounded once)                              ⇒ E[x̂_i] = x_i
/// </code>
/// Each value is off by less than one step m/s, and Var[x̂_i] = (m/s)²·p_i(1 − p_i) ≤ (m/s)²/4 with p_i = y_i − ⌊y_i⌋.
/// Body: <c>f32 scale[⌈n/B⌉] | codes[⌈n·b/8⌉]</c>, each code q + s in b bits, value i at bit (i·b mod 8) of byte
/// ⌊i·b/8⌋, spare bits of the last byte zero. The header's block field is B.
/// </summary>
public sealed class StochasticQuantizer : UpdateCodec
{
    /// <summary>Values per scale unless told otherwise: 4 bytes of scale per 256 values (1.6% of q8, 6% of q2).</summary>
    public const int DefaultBlockSize = 256;
    public const int MinBlockSize = 8;
    public const int MaxBlockSize = 4096;

    public static StochasticQuantizer Q8 { get; } = new(8);
    public static StochasticQuantizer Q4 { get; } = new(4);
    public static StochasticQuantizer Q2 { get; } = new(2);

    /// <param name="bits">8, 4 or 2.</param>
    /// <param name="blockSize">Values per scale: a multiple of 8 in [<see cref="MinBlockSize"/>, <see cref="MaxBlockSize"/>] (so blocks start on a byte).</param>
    public StochasticQuantizer(int bits, int blockSize = DefaultBlockSize)
    {
        if (bits is not (8 or 4 or 2)) throw new ArgumentOutOfRangeException(nameof(bits), bits, "The stochastic quantiser packs 8, 4 or 2 bits a value.");
        if (blockSize < MinBlockSize || blockSize > MaxBlockSize || blockSize % 8 != 0)
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, $"The block size must be a multiple of 8 in [{MinBlockSize}, {MaxBlockSize}].");
        Bits = bits;
        BlockSize = blockSize;
        Levels = (1 << (bits - 1)) - 1;
        Name = blockSize == DefaultBlockSize ? $"q{bits}" : $"q{bits}:{blockSize}";
    }

    public int Bits { get; }
    public int BlockSize { get; }
    /// <summary>s: the positive levels (the alphabet is −s…s).</summary>
    public int Levels { get; }
    public override string Name { get; }
    public override CodecKind Kind => Bits switch { 8 => CodecKind.Q8, 4 => CodecKind.Q4, _ => CodecKind.Q2 };
    public override bool IsUnbiased => true;

    internal override int BlockField(int count) => BlockSize;
    internal override string BlockFieldMeaning => "values per scale";
    private int Blocks(int count) => (int)(((long)count + BlockSize - 1) / BlockSize);
    private long CodeBytes(long count) => (count * Bits + 7) / 8;
    private protected override long BodySize(int count) => 4L * Blocks(count) + CodeBytes(count);

    private protected override void EncodeBody(ReadOnlySpan<float> values, Span<byte> body, Rng rng)
    {
        int n = values.Length, blocks = Blocks(n);
        var scales = body[..(4 * blocks)];
        var codes = body[(4 * blocks)..];
        Span<float> y = stackalloc float[BlockSize];
        Span<float> u = stackalloc float[BlockSize];
        for (int k = 0; k < blocks; k++)
        {
            int start = k * BlockSize, length = Math.Min(BlockSize, n - start);
            var x = values.Slice(start, length);
            var yk = y[..length];
            float m = MathF.Abs(TensorPrimitives.MaxMagnitude(x));
            if (!float.IsFinite(m)) CodecThrow.NotFinite(Name, x, start);
            BinaryPrimitives.WriteSingleLittleEndian(scales[(4 * k)..], m);
            if (m == 0)
            {
                yk.Clear();
            }
            else
            {
                // Divide rather than multiply by s/m: |x| ≤ m makes x/m ∈ [−1, 1] exactly, so y never leaves [−s, s]
                // (and a subnormal m cannot overflow a reciprocal).
                TensorPrimitives.Divide(x, m, yk);
                TensorPrimitives.Multiply(yk, Levels, yk);
                for (int i = 0; i < length; i++) u[i] = rng.NextSingle();
                QuantizeKernels.RoundStochastic(yk, u[..length], yk);
            }
            QuantizeKernels.Pack(yk, Levels, Bits, codes.Slice((int)CodeBytes(start), (int)CodeBytes(length)));
        }
    }

    private protected override void DecodeBody(ReadOnlySpan<byte> body, Span<float> values)
    {
        int n = values.Length, blocks = Blocks(n);
        var codes = body[(4 * blocks)..];
        for (int k = 0; k < blocks; k++)
        {
            int start = k * BlockSize, length = Math.Min(BlockSize, n - start);
            float m = BinaryPrimitives.ReadSingleLittleEndian(body[(4 * k)..]);
            if (!(m >= 0) || !float.IsFinite(m))
                CodecThrow.Format($"{Name}: the scale of block {k} (offset {HeaderSize + 4 * k}) is {m}; scales are finite and ≥ 0.");
            var xk = values.Slice(start, length);
            int bad = QuantizeKernels.Unpack(codes.Slice((int)CodeBytes(start), (int)CodeBytes(length)), Levels, Bits, (double)m / Levels, xk);
            if (bad >= 0)
                CodecThrow.Format($"{Name}: the code of value {start + bad} (byte offset {HeaderSize + 4 * blocks + CodeBytes(start + bad + 1) - 1}) is outside the {Bits}-bit alphabet 0…{2 * Levels}.");
        }
        int spare = (int)(CodeBytes(n) * 8 - (long)n * Bits);
        if (spare > 0 && codes[^1] >> (8 - spare) != 0)
            CodecThrow.Format($"{Name}: the {spare} spare bits of the last byte (offset {HeaderSize + body.Length - 1}) are not zero.");
    }
}
