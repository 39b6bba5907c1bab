using System.Buffers;
using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Ftte.Federation.Privacy.SecAgg.Internal;

/// <summary>
/// The pseudo-random generator that expands a 32-byte seed into a mask over Z_2^32: AES-256 in counter mode,
/// built from the SDK's one-shot ECB (keystream block i = AES_seed(ctr_i)).
/// <para>Layout, fixed so that another implementation reproduces the same masks: counter block i is 8 zero
/// bytes followed by i as a big-endian 64-bit integer; keystream block i supplies mask words 4i … 4i+3 as
/// little-endian uint32. Seeds are single-use (one per pair, client and round, see <see cref="KeyAgreement"/>),
/// so the nonce half of the counter can stay zero.</para>
/// </summary>
internal static class MaskGenerator
{
    private const int BlocksPerChunk = 2048;              // 32 KiB of keystream per ECB call
    private const int WordsPerBlock = 4;

    /// <summary>target ← target ± PRG(seed) (mod 2^32), word by word; nothing allocated beyond pooled chunks.</summary>
    public static void Apply(ReadOnlySpan<byte> seed, Span<uint> target, bool subtract)
    {
        if (seed.Length != 32) throw new ArgumentException("A mask seed is 32 bytes.", nameof(seed));
        using var aes = Aes.Create();
        aes.Key = seed.ToArray();
        byte[] counters = ArrayPool<byte>.Shared.Rent(BlocksPerChunk * 16);
        byte[] stream = ArrayPool<byte>.Shared.Rent(BlocksPerChunk * 16);
        try
        {
            Array.Clear(counters, 0, BlocksPerChunk * 16);
            ulong block = 0;
            for (int offset = 0; offset < target.Length; offset += BlocksPerChunk * WordsPerBlock)
            {
                int words = Math.Min(BlocksPerChunk * WordsPerBlock, target.Length - offset);
                int blocks = (words + WordsPerBlock - 1) / WordsPerBlock;
                // Counter block b: word 2b (the zero nonce) stays 0, word 2b + 1 is the big-endian block index.
                var counterWords = MemoryMarshal.Cast<byte, ulong>(counters.AsSpan(0, blocks * 16));
                for (int b = 0; b < blocks; b++)
                    counterWords[2 * b + 1] = BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(block + (ulong)b) : block + (ulong)b;
                block += (ulong)blocks;
                aes.EncryptEcb(counters.AsSpan(0, blocks * 16), stream.AsSpan(0, blocks * 16), PaddingMode.None);
                var mask = MemoryMarshal.Cast<byte, uint>(stream.AsSpan(0, blocks * 16))[..words];
                if (!BitConverter.IsLittleEndian)
                    for (int i = 0; i < mask.Length; i++) mask[i] = BinaryPrimitives.ReverseEndianness(mask[i]);
                var slice = target.Slice(offset, words);
                // uint arithmetic wraps: this is addition in Z_2^32.
                if (subtract) TensorPrimitives.Subtract(slice, mask, slice);
                else TensorPrimitives.Add(slice, mask, slice);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(stream.AsSpan(0, BlocksPerChunk * 16));
            ArrayPool<byte>.Shared.Return(counters);
            ArrayPool<byte>.Shared.Return(stream);
        }
    }
}
