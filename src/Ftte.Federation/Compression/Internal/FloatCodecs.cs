using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Ftte.Core;

namespace Ftte.Federation.Compression.Internal;

/// <summary>Exact: the values as IEEE single precision, little-endian. Body: f32[count].</summary>
internal sealed class Float32Codec : UpdateCodec
{
    public override string Name => "float32";
    public override CodecKind Kind => CodecKind.Float32;
    public override bool IsUnbiased => true;
    internal override int BlockField(int count) => 0;
    internal override string BlockFieldMeaning => "always 0";
    private protected override long BodySize(int count) => 4L * count;

    private protected override void EncodeBody(ReadOnlySpan<float> values, Span<byte> body, Rng rng)
    {
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(body);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(body[(4 * i)..], values[i]);
    }

    private protected override void DecodeBody(ReadOnlySpan<byte> body, Span<float> values)
    {
        if (BitConverter.IsLittleEndian) body.CopyTo(MemoryMarshal.AsBytes(values));
        else for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(body[(4 * i)..]);
    }
}

/// <summary>
/// IEEE 754 half precision (1 sign, 5 exponent, 10 fraction bits), rounded to nearest, ties to even, as
/// <see cref="Half"/>'s conversion does. Relative error ≤ 2⁻¹¹ for |x| in the normal range [2⁻¹⁴, 65504]; below it
/// the absolute error is ≤ 2⁻²⁵ (subnormals); above 65504 a value becomes ±∞. Body: f16[count].
/// </summary>
internal sealed class Float16Codec : UpdateCodec
{
    public override string Name => "float16";
    public override CodecKind Kind => CodecKind.Float16;
    public override bool IsUnbiased => false;
    internal override int BlockField(int count) => 0;
    internal override string BlockFieldMeaning => "always 0";
    private protected override long BodySize(int count) => 2L * count;

    private protected override void EncodeBody(ReadOnlySpan<float> values, Span<byte> body, Rng rng)
    {
        // TensorPrimitives converts a vector at a time; Half is two bytes, so the byte span can be viewed as halves.
        if (BitConverter.IsLittleEndian) TensorPrimitives.ConvertToHalf(values, MemoryMarshal.Cast<byte, Half>(body));
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(body[(2 * i)..], (Half)values[i]);
    }

    private protected override void DecodeBody(ReadOnlySpan<byte> body, Span<float> values)
    {
        if (BitConverter.IsLittleEndian) TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(body), values);
        else for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(body[(2 * i)..]);
    }
}
