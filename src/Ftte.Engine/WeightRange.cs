namespace Ftte.Engine;

/// <summary>A run [Offset, Offset + Length) of a model's flat weight vector.</summary>
public readonly record struct WeightRange(int Offset, int Length)
{
    public int End => Offset + Length;
}
