namespace Ftte.Engine;

/// <summary>
/// The output channels of one parameter tensor that train: a sorted, duplicate-free list. Gradients
/// and optimizer state are kept compactly, one row of <see cref="Parameter.ChannelSize"/> floats per
/// selected channel, in this order.
/// </summary>
public sealed class ChannelSelection
{
    private readonly int[] _channels;

    internal ChannelSelection(Parameter parameter, int[] channels)
    {
        Parameter = parameter;
        _channels = channels;
        IsAll = channels.Length == parameter.OutputChannels;
        IsContiguous = channels.Length > 0 && channels[^1] - channels[0] == channels.Length - 1;
    }

    public Parameter Parameter { get; }
    public ReadOnlySpan<int> Channels => _channels;
    public int Count => _channels.Length;
    public bool IsAll { get; }
    /// <summary>True when the channels are one range [First, First+Count): kernels then work in place, no gather.</summary>
    public bool IsContiguous { get; }
    public int First => _channels[0];
    /// <summary>Trainable elements: Count × ChannelSize.</summary>
    public int Elements => _channels.Length * Parameter.ChannelSize;
    public double Fraction => (double)_channels.Length / Parameter.OutputChannels;
}
