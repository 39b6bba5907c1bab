using System.Text.Json;
using System.Text.Json.Nodes;
using Ftte.Engine.Layers;

namespace Ftte.Engine;

/// <summary>
/// The small JSON form of a model. Example:
/// <code>
/// { "name": "mlp", "input": [784], "seed": 1,
///   "layers": [ { "kind": "linear", "name": "fc1", "out": 128 }, { "kind": "relu" },
///               { "kind": "linear", "name": "fc2", "out": 10 } ] }
/// </code>
/// Each layer reads the previous layer's output unless it names its inputs ("inputs": ["conv1", "input"]);
/// "add" takes two. Kinds: linear(out, bias), conv2d(out, kernel, stride, padding, groups, bias), relu, relu6,
/// maxpool2d(kernel, stride), avgpool2d(kernel, stride), globalavgpool, flatten, groupnorm(groups), add.
/// </summary>
public sealed class ModelDescription
{
    public ModelDescription(JsonObject json) => Json = json;

    public JsonObject Json { get; }

    public static ModelDescription Parse(string json)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(json); }
        catch (JsonException e) { throw new FormatException($"Model description is not valid JSON: {e.Message}", e); }
        return new ModelDescription(node as JsonObject ?? throw new FormatException("Model description must be a JSON object with \"name\", \"input\" and \"layers\"."));
    }

    public override string ToString() => Json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    internal static ModelDescription From(Model model)
    {
        var layers = new JsonArray();
        for (int i = 0; i < model.Layers.Count; i++)
        {
            var layer = model.Layers[i];
            var o = new JsonObject { ["kind"] = layer.Kind, ["name"] = layer.Name };
            var inputs = model.InputsOf(i);
            bool sequential = inputs.Length == 1 && inputs[0] == i - 1;
            if (!sequential)
            {
                var names = new JsonArray();
                foreach (int j in inputs) names.Add(j < 0 ? "input" : model.Layers[j].Name);
                o["inputs"] = names;
            }
            foreach (var (key, value) in layer.DescribeOptions())
                o[key] = value switch
                {
                    int number => JsonValue.Create(number),
                    bool flag => JsonValue.Create(flag),
                    _ => throw new InvalidOperationException($"Layer option '{key}' of '{layer.Name}' has unsupported type {value.GetType().Name}."),
                };
            layers.Add(o);
        }
        var dims = new JsonArray();
        foreach (int d in model.InputShape.Dims) dims.Add(d);
        return new ModelDescription(new JsonObject { ["name"] = model.Name, ["input"] = dims, ["layers"] = layers });
    }

    /// <summary>Builds the model; parameters are initialised from "seed" (default 0) unless <paramref name="seed"/> is given.</summary>
    public static Model Build(ModelDescription description, ulong? seed = null)
    {
        var json = description.Json;
        string name = json["name"]?.GetValue<string>() ?? "model";
        var inputDims = json["input"] as JsonArray ?? throw Error(name, "needs \"input\": the per-sample input shape, e.g. [1,28,28]");
        var builder = new ModelBuilder(name, new Shape(inputDims.Select(d => d!.GetValue<int>()).ToArray()));
        var layers = json["layers"] as JsonArray ?? throw Error(name, "needs \"layers\": an array of layer objects");
        if (layers.Count == 0) throw Error(name, "has no layers");
        var byName = new Dictionary<string, NodeRef>(StringComparer.Ordinal) { ["input"] = builder.Input };
        var current = builder.Input;
        int index = 0;
        foreach (var item in layers)
        {
            var o = item as JsonObject ?? throw Error(name, $"layer {index} is not an object");
            string kind = o["kind"]?.GetValue<string>() ?? throw Error(name, $"layer {index} has no \"kind\"");
            string? layerName = o["name"]?.GetValue<string>();
            NodeRef[] inputs = o["inputs"] is JsonArray ins
                ? ins.Select(n => byName.TryGetValue(n!.GetValue<string>(), out var r) ? r : throw Error(name, $"layer {index} reads '{n}', which is not an earlier layer")).ToArray()
                : [current];
            var options = new Options(name, index, kind, o);
            try
            {
                current = kind switch
                {
                    "linear" => builder.Linear(inputs[0], options.Int("out"), layerName, options.Bool("bias", true)),
                    "conv2d" => builder.Conv2d(inputs[0], options.Int("out"), options.Int("kernel"), options.Int("stride", 1), options.Int("padding", 0),
                                               options.Int("groups", 1), options.Bool("bias", true), layerName),
                    "relu" => builder.Relu(inputs[0], layerName),
                    "relu6" => builder.Relu6(inputs[0], layerName),
                    "maxpool2d" => builder.MaxPool2d(inputs[0], options.Int("kernel"), options.OptionalInt("stride"), layerName),
                    "avgpool2d" => builder.AvgPool2d(inputs[0], options.Int("kernel"), options.OptionalInt("stride"), layerName),
                    "globalavgpool" => builder.GlobalAvgPool(inputs[0], layerName),
                    "flatten" => builder.Flatten(inputs[0], layerName),
                    "groupnorm" => builder.GroupNorm(inputs[0], options.Int("groups"), layerName),
                    "add" => inputs.Length == 2 ? builder.Add(inputs[0], inputs[1], layerName) : throw Error(name, $"layer {index} (add) needs \"inputs\" with two names"),
                    _ => throw Error(name, $"layer {index} has unknown kind '{kind}'; known: linear, conv2d, relu, relu6, maxpool2d, avgpool2d, globalavgpool, flatten, groupnorm, add"),
                };
            }
            catch (ArgumentException e)
            {
                throw Error(name, $"layer {index} ({kind}): {e.Message}");
            }
            byName[builder.NameOf(current)] = current;
            index++;
        }
        ulong s = seed ?? (json["seed"] is JsonNode sn ? sn.GetValue<ulong>() : 0UL);
        return builder.Build(current, s);
    }

    private static FormatException Error(string model, string what) => new($"Model description '{model}' {what}.");

    private readonly struct Options(string model, int index, string kind, JsonObject o)
    {
        public int Int(string key) => OptionalInt(key) ?? throw Error(model, $"layer {index} ({kind}) needs \"{key}\"");
        public int Int(string key, int fallback) => OptionalInt(key) ?? fallback;
        public int? OptionalInt(string key)
        {
            if (o[key] is not JsonNode n) return null;
            try { return n.GetValue<int>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            { throw Error(model, $"layer {index} ({kind}): \"{key}\" must be a whole number"); }
        }
        public bool Bool(string key, bool fallback) => o[key] is JsonNode n ? n.GetValue<bool>() : fallback;
    }
}
