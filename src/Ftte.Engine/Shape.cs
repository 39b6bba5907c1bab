namespace Ftte.Engine;

/// <summary>
/// The shape of one sample's tensor, batch excluded: (C,H,W) for images, (F) for feature vectors.
/// Every tensor in the engine is float32 and contiguous (row-major, NCHW with the batch in front).
/// </summary>
public sealed class Shape : IEquatable<Shape>
{
    private readonly int[] _dims;

    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length == 0) throw new ArgumentException("A shape needs at least one dimension.", nameof(dims));
        long size = 1;
        foreach (int d in dims)
        {
            if (d <= 0) throw new ArgumentException($"Shape dimensions must be positive, got ({string.Join(",", dims)}).", nameof(dims));
            size *= d;
        }
        if (size > int.MaxValue) throw new ArgumentException($"Shape ({string.Join(",", dims)}) holds more than 2^31 elements.", nameof(dims));
        _dims = (int[])dims.Clone();
        Size = (int)size;
    }

    public int Rank => _dims.Length;
    public int this[int axis] => _dims[axis];
    /// <summary>Number of elements.</summary>
    public int Size { get; }
    public ReadOnlySpan<int> Dims => _dims;

    public bool Equals(Shape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims);
    public override bool Equals(object? obj) => Equals(obj as Shape);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in _dims) h.Add(d);
        return h.ToHashCode();
    }
    public override string ToString() => "(" + string.Join(",", _dims) + ")";
}
