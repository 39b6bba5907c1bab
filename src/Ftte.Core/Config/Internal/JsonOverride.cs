using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ftte.Core.Config.Internal;

/// <summary>Sets one value in a JSON document by path (<c>fleet.devices</c>, <c>strategies[0].concurrency</c>), creating missing objects on the way.</summary>
internal static class JsonOverride
{
    private readonly record struct Step(string? Key, int Index);

    public static void Apply(JsonNode root, string path, string text)
    {
        var steps = Parse(path);
        JsonNode current = root;
        string at = ConfigPath.Root;
        for (int k = 0; k < steps.Count; k++)
        {
            var step = steps[k];
            bool last = k == steps.Count - 1;
            Func<JsonNode> make = last ? () => ValueOf(text)! : (steps[k + 1].Key is null ? () => new JsonArray() : () => new JsonObject());
            if (step.Key is { } key)
            {
                if (current is not JsonObject obj) throw Fail(at, $"cannot set '{key}' in {Describe(current)}; only objects have keys.");
                at = ConfigPath.Child(at, key);
                if (last)
                {
                    obj[key] = ValueOf(text);
                    return;
                }
                current = obj[key] ?? (obj[key] = make());
            }
            else
            {
                if (current is not JsonArray list) throw Fail(at, $"cannot index {Describe(current)}; only lists have items.");
                at = ConfigPath.Index(at, step.Index);
                if (step.Index > list.Count)
                    throw Fail(at, $"index {step.Index} is past the end of the list ({list.Count} items); the next item is [{list.Count}].");
                if (step.Index == list.Count)
                {
                    list.Add(last ? ValueOf(text) : make());
                    if (last) return;
                    current = list[step.Index]!;
                    continue;
                }
                if (last)
                {
                    list[step.Index] = ValueOf(text);
                    return;
                }
                current = list[step.Index] ?? (list[step.Index] = make());
            }
        }
    }

    /// <summary>The text as JSON when it parses as JSON (<c>500</c>, <c>true</c>, <c>{"a":1}</c>, <c>"quoted"</c>), otherwise as a string.</summary>
    private static JsonNode? ValueOf(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    private static List<Step> Parse(string path)
    {
        string p = path.Trim();
        if (p.StartsWith("$.", StringComparison.Ordinal)) p = p[2..];
        var steps = new List<Step>();
        int i = 0;
        while (i < p.Length)
        {
            int start = i;
            while (i < p.Length && p[i] != '.' && p[i] != '[') i++;
            if (i > start) steps.Add(new Step(p[start..i], 0));
            else if (i < p.Length && p[i] == '.') throw Fail(path, "an override path has an empty key; write e.g. fleet.devices or strategies[0].concurrency.");
            while (i < p.Length && p[i] == '[')
            {
                int close = p.IndexOf(']', i);
                if (close < 0 || !int.TryParse(p.AsSpan(i + 1, close - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                    throw Fail(path, "a list index in an override path must be a non-negative integer in brackets, e.g. strategies[0].");
                steps.Add(new Step(null, index));
                i = close + 1;
            }
            if (i < p.Length)
            {
                if (p[i] != '.' || i == p.Length - 1) throw Fail(path, "an override path must be keys separated by '.', e.g. fleet.devices.");
                i++;
            }
        }
        if (steps.Count == 0) throw Fail(path, "an override needs a path, e.g. fleet.devices=500.");
        return steps;
    }

    private static string Describe(JsonNode node) => node switch
    {
        JsonArray => "a list",
        JsonObject => "an object",
        _ => "the value " + node.ToJsonString(),
    };

    private static ConfigException Fail(string path, string detail) => new(null, path, detail, null);
}
