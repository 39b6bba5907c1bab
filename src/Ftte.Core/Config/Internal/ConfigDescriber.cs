namespace Ftte.Core.Config.Internal;

/// <summary>Lists every key of a configuration type with its type, default, allowed values, range and doc.</summary>
internal static class ConfigDescriber
{
    public static IReadOnlyList<ConfigKeyInfo> Describe(ObjectModel model)
    {
        var rows = new List<ConfigKeyInfo>();
        Walk(model, ConfigPath.Root, model.TryCreateDefault(), rows, [model.Type]);
        return rows;
    }

    private static void Walk(ObjectModel model, string prefix, object? defaults, List<ConfigKeyInfo> rows, HashSet<Type> open)
    {
        foreach (var member in model.Members)
        {
            string path = ConfigPath.Child(prefix, member.Key);
            var spec = member.Spec;
            bool knownDefault = !member.Required && (member.ParameterIndex >= 0 || defaults is not null);
            object? value = member.ParameterIndex >= 0 ? member.ParameterDefault : defaults is null ? null : member.Property.GetValue(defaults);
            // An object's default shows in its children's rows.
            string? defaultText = knownDefault && (spec.Kind != ValueKind.Object || value is null)
                ? ConfigWriter.Write(value, spec, indented: false)
                : null;
            rows.Add(new ConfigKeyInfo(path, TypeName(spec), member.Required, defaultText, Allowed(spec), ConfigText.Range(Leaf(spec).Rules.Range), member.Doc));

            // Children of an object, of each list item ("strategies[]") and each map entry ("profiles.<name>").
            var (inner, innerPath, innerDefaults) = spec.Kind switch
            {
                ValueKind.Object => (spec, path, value),
                ValueKind.List when spec.Item!.Kind == ValueKind.Object => (spec.Item, path + "[]", null),
                ValueKind.Map when spec.Item!.Kind == ValueKind.Object => (spec.Item, path + ".<name>", null),
                _ => (null, path, null),
            };
            if (inner is null || !open.Add(inner.Core)) continue;   // a type inside itself is listed once
            var child = inner.Object;
            Walk(child, innerPath, innerDefaults ?? child.TryCreateDefault(), rows, open);
            open.Remove(inner.Core);
        }
    }

    private static ValueSpec Leaf(ValueSpec spec) => spec.Item is null ? spec : Leaf(spec.Item);

    private static IReadOnlyList<string> Allowed(ValueSpec spec)
    {
        var leaf = Leaf(spec);
        return leaf.Kind switch
        {
            ValueKind.Enum => leaf.Enum.Allowed,
            ValueKind.String when leaf.Rules.Allowed is { } allowed => allowed,
            _ => [],
        };
    }

    private static string TypeName(ValueSpec spec)
    {
        string name = spec.Kind switch
        {
            ValueKind.String => "string",
            ValueKind.Boolean => "boolean",
            ValueKind.Integer when spec.Rules.ByteSize => "byte size",
            ValueKind.Integer => "integer",
            ValueKind.Float when spec.Rules.Duration => "duration",
            ValueKind.Float => "number",
            ValueKind.Enum => "enum",
            ValueKind.List => "list of " + TypeName(spec.Item!),
            ValueKind.Map => "map of " + TypeName(spec.Item!),
            _ => "object",
        };
        return spec.Nullable ? name + " or null" : name;
    }
}
