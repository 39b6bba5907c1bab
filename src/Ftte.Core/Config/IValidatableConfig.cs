namespace Ftte.Core.Config;

/// <summary>
/// A configuration type with rules that span keys (e.g. "minClients ≤ maxClients"). The binder calls
/// <see cref="Validate"/> on each bound instance, children before parents; throw a <see cref="ConfigException"/>
/// with a path under <paramref name="path"/> (build it with <see cref="ConfigPath"/>).
/// </summary>
public interface IValidatableConfig
{
    void Validate(string path);
}
