using Ftte.Engine;

namespace Ftte.Federation;

/// <summary>
/// The server's model and its version. Strategies change <see cref="Weights"/> in place when they merge
/// updates and then call <see cref="IFederationHost.Commit"/>, which advances <see cref="Version"/>.
/// </summary>
public sealed class GlobalModel
{
    public GlobalModel(Model model) => Model = model;

    public Model Model { get; }
    /// <summary>0 for the initial weights; +1 per server step.</summary>
    public int Version { get; private set; }
    public Span<float> Weights => Model.Weights;

    /// <summary>Called by hosts only (through Commit) so that every version change is observed.</summary>
    public int Advance() => ++Version;

    /// <summary>Restores a persisted version (server restart).</summary>
    public void Restore(int version, ReadOnlySpan<float> weights)
    {
        if (weights.Length != Model.ParameterCount)
            throw new ArgumentException($"Stored weights have {weights.Length} values; model '{Model.Name}' has {Model.ParameterCount}.");
        weights.CopyTo(Model.Weights);
        Version = version;
    }
}
