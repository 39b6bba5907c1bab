namespace Ftte.Core.Config;

/// <summary>
/// One knob of a configuration type, as <see cref="StrictJson.Describe{T}"/> lists them for a <c>--help</c>-like table.
/// </summary>
/// <param name="Path">The key's path; list items appear as <c>strategies[]</c>, map entries as <c>profiles.&lt;name&gt;</c>.</param>
/// <param name="Type">"integer", "number", "boolean", "string", "enum", "byte size", "duration", "object", "list of …", "map of …"; "… or null" when null is accepted.</param>
/// <param name="Required">True when the key must be present.</param>
/// <param name="Default">The default as JSON text (<c>500</c>, <c>"fed-buff"</c>, <c>null</c>), or null when required or unknown.</param>
/// <param name="AllowedValues">Enum values in kebab-case, or the strings of <see cref="AllowedValuesAttribute"/>; empty when any value of the type goes.</param>
/// <param name="Range">The inclusive range of <see cref="ConfigRangeAttribute"/> as text ("≥ 1", "between 0 and 1"), or null.</param>
/// <param name="Doc">The text of <see cref="ConfigDocAttribute"/>, or null.</param>
public sealed record ConfigKeyInfo(
    string Path,
    string Type,
    bool Required,
    string? Default,
    IReadOnlyList<string> AllowedValues,
    string? Range,
    string? Doc);
