namespace Ftte.Engine;

/// <summary>What a parameter tensor is for; the bias-only and norm-affine trainable sets key on it.</summary>
public enum ParameterRole { Weight, Bias, NormScale, NormShift }

/// <summary>
/// A named parameter tensor ("conv2.weight"). Dimension 0 is the output channel: channel c occupies
/// the contiguous slice [c·ChannelSize, (c+1)·ChannelSize), which is what partial (per-channel)
/// training selects. The floats live in the owning <see cref="Model"/>'s single parameter block.
/// </summary>
public sealed class Parameter
{
    private float[] _storage = [];

    internal Parameter(string name, Shape shape, ParameterRole role, int fanIn)
    {
        Name = name;
        Shape = shape;
        Role = role;
        FanIn = fanIn;
    }

    public string Name { get; }
    public Shape Shape { get; }
    public ParameterRole Role { get; }
    /// <summary>Inputs feeding one output unit; sets the initialisation scale.</summary>
    public int FanIn { get; }
    public int Count => Shape.Size;
    public int OutputChannels => Shape[0];
    public int ChannelSize => Shape.Size / Shape[0];
    /// <summary>Offset of this tensor in the model's parameter block.</summary>
    public int Offset { get; private set; }

    public Span<float> Data => _storage.AsSpan(Offset, Count);
    public Span<float> Channel(int c) => _storage.AsSpan(Offset + c * ChannelSize, ChannelSize);

    internal void Bind(float[] storage, int offset)
    {
        _storage = storage;
        Offset = offset;
    }

    public override string ToString() => $"{Name} {Shape}";
}
