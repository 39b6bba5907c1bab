using System.Text.Json;
using System.Text.Json.Nodes;
using Ftte.Core.Config.Internal;

namespace Ftte.Core.Config;

/// <summary>
/// Strict JSON configuration: every key of the document must name a member of the target record (camelCase of the
/// property name), every value must fit, and the first mistake becomes a <see cref="ConfigException"/> naming the key's
/// path and what would have been accepted. Absent keys keep their defaults (a positional parameter's default value or
/// a property's initialiser); absent required keys are errors. Comments and trailing commas are allowed in documents.
/// </summary>
/// <example>
/// <code>
/// // config.json: { "fleet": { "devices": 100 }, "strategies": [ { "kind": "fed-buff", "bufferSize": 10 } ] }
/// var config = StrictJson.Parse&lt;SimulationConfig&gt;(File.ReadAllText(path), path, ["fleet.devices=500"]);
/// // A typo fails at start: config.json: strategies[0].bufersize: unknown key 'bufersize'; did you mean 'bufferSize'? Allowed keys: …
/// File.WriteAllText(Path.Combine(runDir, "config.json"), StrictJson.Serialize(config));
/// </code>
/// </example>
public static class StrictJson
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Binds <paramref name="element"/> to a <typeparamref name="T"/>; errors name keys under <paramref name="path"/>.</summary>
    /// <exception cref="ConfigException">The element does not describe a valid <typeparamref name="T"/>.</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> itself cannot be bound (a programming error).</exception>
    public static T Bind<T>(JsonElement element, string path = ConfigPath.Root)
    {
        ArgumentNullException.ThrowIfNull(path);
        return (T)ConfigBinder.Bind(element, SpecOf(typeof(T)), path)!;
    }

    /// <summary>Parses and binds <paramref name="json"/>; errors start with <paramref name="sourceName"/> (e.g. the file's path), syntax errors give line and column.</summary>
    public static T Parse<T>(string json, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(sourceName);
        using var document = ParseDocument(json, sourceName);
        return BindFrom<T>(document.RootElement, sourceName);
    }

    /// <summary>
    /// Parses <paramref name="json"/>, applies each <c>path=value</c> of <paramref name="overrides"/> in order
    /// (see <see cref="ApplyOverride(JsonNode, string)"/>), then binds; errors in the patched document are attributed to
    /// "<paramref name="sourceName"/> (with overrides)".
    /// </summary>
    public static T Parse<T>(string json, string sourceName, IEnumerable<string> overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        var assignments = overrides.ToList();
        if (assignments.Count == 0) return Parse<T>(json, sourceName);

        JsonNode? root;
        using (var document = ParseDocument(json, sourceName))
        {
            try
            {
                RejectDuplicateKeys(document.RootElement, ConfigPath.Root);
            }
            catch (ConfigException e)
            {
                throw e.WithSource(sourceName);
            }
            root = JsonNode.Parse(document.RootElement.GetRawText(), documentOptions: DocumentOptions);
        }
        if (root is null) throw new ConfigException(sourceName, ConfigPath.Root, "expected an object, got null.", null);
        foreach (string assignment in assignments) ApplyOverride(root, assignment);

        using var patched = JsonDocument.Parse(root.ToJsonString());
        return BindFrom<T>(patched.RootElement, sourceName + " (with overrides)");
    }

    /// <summary>
    /// Applies an assignment <c>path=value</c> such as <c>fleet.devices=500</c> or <c>strategies[0].kind=fed-buff</c>
    /// (see <see cref="ApplyOverride(JsonNode, string, string)"/>); errors are attributed to "override 'path=value'".
    /// </summary>
    public static void ApplyOverride(JsonNode root, string assignment)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        int equals = assignment.IndexOf('=');
        try
        {
            if (equals < 0) throw new ConfigException(null, null, "an override is written path=value, e.g. fleet.devices=500.", null);
            ApplyOverride(root, assignment[..equals], assignment[(equals + 1)..]);
        }
        catch (ConfigException e) when (e.Source is null)
        {
            throw e.WithSource($"override '{assignment}'");
        }
    }

    /// <summary>
    /// Sets the value at <paramref name="dottedPath"/> (<c>fleet.devices</c>, <c>strategies[0].concurrency</c>) in
    /// <paramref name="root"/>, creating missing objects on the way; an index may be one past the end to append.
    /// <paramref name="value"/> is read as JSON when it parses (<c>500</c>, <c>true</c>, <c>{"a":1}</c>), else as a string
    /// (<c>fed-buff</c>). Keys are not checked here: binding rejects unknown ones.
    /// </summary>
    public static void ApplyOverride(JsonNode root, string dottedPath, string value)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(dottedPath);
        ArgumentNullException.ThrowIfNull(value);
        JsonOverride.Apply(root, dottedPath, value);
    }

    /// <summary>Every key of <typeparamref name="T"/>, nested ones included, in member order: a <c>--help</c> listing.</summary>
    public static IReadOnlyList<ConfigKeyInfo> Describe<T>() => ConfigDescriber.Describe(ObjectModel.For(typeof(T)));

    /// <summary>
    /// <paramref name="value"/> as indented JSON (two spaces, '\n') in the shape <see cref="Bind{T}"/> reads: camelCase
    /// keys in member order, every member written (nulls too), enums in kebab-case, byte sizes in bytes, durations in
    /// seconds. Parsing the text and serializing again gives the same text.
    /// </summary>
    public static string Serialize<T>(T value)
    {
        var type = typeof(T) == typeof(object) && value is not null ? value.GetType() : typeof(T);
        return ConfigWriter.Write(value, SpecOf(type), indented: true);
    }

    private static ValueSpec SpecOf(Type type) => ValueSpec.For(type, null, ValueRules.None);

    private static T BindFrom<T>(JsonElement element, string sourceName)
    {
        try
        {
            return Bind<T>(element);
        }
        catch (ConfigException e) when (e.Source is null)
        {
            throw e.WithSource(sourceName);
        }
    }

    private static JsonDocument ParseDocument(string json, string sourceName)
    {
        try
        {
            return JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            int line = (int)(e.LineNumber ?? 0) + 1, column = (int)(e.BytePositionInLine ?? 0) + 1;
            string reason = e.Message;
            int cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut >= 0) reason = reason[..cut];
            throw new ConfigException(sourceName, null, $"line {line}, column {column}: invalid JSON: {reason}", e) { Line = line, Column = column };
        }
    }

    private static void RejectDuplicateKeys(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                string child = ConfigPath.Child(path, property.Name);
                if (!seen.Add(property.Name)) throw new ConfigException(child, "duplicate key.");
                RejectDuplicateKeys(property.Value, child);
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in element.EnumerateArray()) RejectDuplicateKeys(item, ConfigPath.Index(path, i++));
        }
    }
}
