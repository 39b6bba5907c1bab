using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;

namespace Ftte.Core.Config.Internal;

/// <summary>Binds a <see cref="JsonElement"/> to a <see cref="ValueSpec"/>, failing at the first mistake with its path.</summary>
internal static class ConfigBinder
{
    public static object? Bind(JsonElement value, ValueSpec spec, string path)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            if (spec.Nullable) return null;
            Fail(path, $"expected {Expected(spec)}, got null.");
        }
        return spec.Kind switch
        {
            ValueKind.String => BindString(value, spec, path),
            ValueKind.Boolean => value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => Fail(path, $"expected true or false, got {ConfigText.Got(value)}."),
            },
            ValueKind.Integer => BindInteger(value, spec, path),
            ValueKind.Float => BindFloat(value, spec, path),
            ValueKind.Enum => BindEnum(value, spec, path),
            ValueKind.List => BindList(value, spec, path),
            ValueKind.Map => BindMap(value, spec, path),
            _ => BindObject(value, spec.Object, path),
        };
    }

    private static string BindString(JsonElement value, ValueSpec spec, string path)
    {
        if (value.ValueKind != JsonValueKind.String) Fail(path, $"expected a string, got {ConfigText.Got(value)}.");
        string text = value.GetString()!;
        if (spec.Rules.Allowed is { } allowed && !allowed.Contains(text, StringComparer.Ordinal))
            Fail(path, $"expected one of {ConfigText.Quoted(allowed)}, got {ConfigText.Got(value)}{DidYouMean(ConfigText.Suggest(text, allowed))}");
        return text;
    }

    private static object BindInteger(JsonElement value, ValueSpec spec, string path)
    {
        decimal number;
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (!value.TryGetDecimal(out number)) OutOfRange();
            if (number != decimal.Truncate(number)) Fail(path, $"expected {Noun(spec)}, got {ConfigText.Got(value)}.");
        }
        else if (value.ValueKind == JsonValueKind.String && spec.Rules.ByteSize)
        {
            try
            {
                number = ByteSize.Parse(value.GetString()!);
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                number = Fail<decimal>(path, $"expected {Expected(spec)}, got {ConfigText.Got(value)}.");
            }
        }
        else
        {
            number = Fail<decimal>(path, $"expected {Expected(spec)}, got {ConfigText.Got(value)}.");
        }

        var (min, max) = spec.IntegerRange;
        if (number < min || number > max) OutOfRange();
        CheckRange((double)number, value, spec, path);
        return Convert.ChangeType(number, spec.Core, CultureInfo.InvariantCulture);

        void OutOfRange() =>
            Fail(path, $"expected {Noun(spec)} between {spec.IntegerRange.Min} and {spec.IntegerRange.Max}, got {ConfigText.Got(value)}.");
    }

    private static object BindFloat(JsonElement value, ValueSpec spec, string path)
    {
        double number;
        if (value.ValueKind == JsonValueKind.Number)
        {
            // A float is read as a float: reading a double and rounding again could land one ulp away from the written value.
            bool ok;
            if (spec.Core == typeof(float))
            {
                ok = value.TryGetSingle(out float single) && float.IsFinite(single);
                number = single;
            }
            else
            {
                ok = value.TryGetDouble(out number) && double.IsFinite(number);
            }
            if (!ok) Fail(path, $"expected {Noun(spec)} within the range of {(spec.Core == typeof(float) ? "float" : "double")}, got {ConfigText.Got(value)}.");
        }
        else if (value.ValueKind == JsonValueKind.String && spec.Rules.Duration)
        {
            number = ConfigText.ParseDuration(value.GetString()!)
                ?? Fail<double>(path, $"expected {Expected(spec)}, got {ConfigText.Got(value)}.");
        }
        else
        {
            number = Fail<double>(path, $"expected {Expected(spec)}, got {ConfigText.Got(value)}.");
        }

        CheckRange(number, value, spec, path);
        return spec.Core == typeof(float) ? (object)(float)number : number;
    }

    private static void CheckRange(double number, JsonElement value, ValueSpec spec, string path)
    {
        if (spec.Rules.Range is not { } range || (number >= range.Min && number <= range.Max)) return;
        string got = ConfigText.Got(value) + (value.ValueKind == JsonValueKind.String ? " = " + ConfigText.Number(number) : "");
        Fail(path, $"expected {Noun(spec)} {ConfigText.Range(range)}, got {got}.");
    }

    private static object BindEnum(JsonElement value, ValueSpec spec, string path)
    {
        var names = spec.Enum;
        if (value.ValueKind == JsonValueKind.String && names.TryParse(value.GetString()!, out object member)) return member;
        string? suggestion = value.ValueKind == JsonValueKind.String
            ? ConfigText.Suggest(value.GetString()!, names.Allowed, ConfigText.Normalize)
            : null;
        return Fail(path, $"expected one of {ConfigText.Quoted(names.Allowed)}, got {ConfigText.Got(value)}{DidYouMean(suggestion)}");
    }

    private static object BindList(JsonElement value, ValueSpec spec, string path)
    {
        if (value.ValueKind != JsonValueKind.Array) Fail(path, $"expected {Expected(spec)}, got {ConfigText.Got(value)}.");
        var items = (IList)spec.NewItems();
        int index = 0;
        foreach (var item in value.EnumerateArray())
        {
            items.Add(Bind(item, spec.Item!, ConfigPath.Index(path, index)));
            index++;
        }
        return spec.Wrap(items);
    }

    private static object BindMap(JsonElement value, ValueSpec spec, string path)
    {
        if (value.ValueKind != JsonValueKind.Object) Fail(path, $"expected {Expected(spec)}, got {ConfigText.Got(value)}.");
        var items = (IDictionary)spec.NewItems();
        foreach (var property in value.EnumerateObject())
        {
            string itemPath = ConfigPath.Child(path, property.Name);
            if (items.Contains(property.Name)) Fail(itemPath, "duplicate key.");
            items[property.Name] = Bind(property.Value, spec.Item!, itemPath);
        }
        return spec.Wrap(items);
    }

    private static object BindObject(JsonElement value, ObjectModel model, string path)
    {
        if (value.ValueKind != JsonValueKind.Object) Fail(path, $"expected an object, got {ConfigText.Got(value)}.");

        var arguments = new object?[model.ParameterCount];
        var present = new HashSet<string>(StringComparer.Ordinal);
        var properties = new List<(MemberModel, object?)>();
        foreach (var property in value.EnumerateObject())
        {
            string keyPath = ConfigPath.Child(path, property.Name);
            if (!model.ByKey.TryGetValue(property.Name, out var member))
                Fail(keyPath, $"unknown key '{property.Name}'{DidYouMean(ConfigText.Suggest(property.Name, model.Keys), ".")} Allowed keys: {string.Join(", ", model.Keys)}.");
            if (!present.Add(property.Name)) Fail(keyPath, "duplicate key.");
            object? bound = Bind(property.Value, member.Spec, keyPath);
            if (member.ParameterIndex >= 0) arguments[member.ParameterIndex] = bound;
            else properties.Add((member, bound));
        }
        foreach (var member in model.Members)
        {
            if (present.Contains(member.Key)) continue;
            if (member.Required) Fail(ConfigPath.Child(path, member.Key), $"required key is missing (expected {Expected(member.Spec)}).");
            if (member.ParameterIndex >= 0) arguments[member.ParameterIndex] = member.ParameterDefault;
        }

        object instance;
        try
        {
            instance = model.Create(arguments, properties);
        }
        catch (ObjectModel.ArgumentRejectedException e)
        {
            // A constructor or init accessor that validates its arguments: keep its words, give them the object's path.
            instance = Fail<object>(path, e.InnerException!.Message, e.InnerException);
        }
        if (instance is IValidatableConfig validatable)
        {
            try
            {
                validatable.Validate(path);
            }
            catch (ArgumentException e)
            {
                Fail(path, e.Message, e);
            }
        }
        return instance;
    }

    /// <summary>"an integer", "a byte size", … — the word used before a range.</summary>
    private static string Noun(ValueSpec spec) => spec.Kind switch
    {
        ValueKind.Integer when spec.Rules.ByteSize => "a byte size",
        ValueKind.Integer => "an integer",
        ValueKind.Float when spec.Rules.Duration => "a duration in seconds",
        _ => "a number",
    };

    /// <summary>What a value of <paramref name="spec"/> looks like, for "expected …".</summary>
    public static string Expected(ValueSpec spec)
    {
        string range = ConfigText.Range(spec.Rules.Range) is { } r ? " " + r : "";
        return spec.Kind switch
        {
            ValueKind.String when spec.Rules.Allowed is { } allowed => "one of " + ConfigText.Quoted(allowed),
            ValueKind.String => "a string",
            ValueKind.Boolean => "true or false",
            ValueKind.Integer when spec.Rules.ByteSize => "a byte size" + range + " (a number of bytes, or a string such as \"256KiB\" or \"1.5MiB\")",
            ValueKind.Float when spec.Rules.Duration => "a duration" + range + " (seconds, or a string such as \"90s\", \"15min\" or \"2h\")",
            ValueKind.Integer or ValueKind.Float => Noun(spec) + range,
            ValueKind.Enum => "one of " + ConfigText.Quoted(spec.Enum.Allowed),
            ValueKind.List => "a list",
            ValueKind.Map => "an object of named entries",
            _ => "an object",
        };
    }

    private static string DidYouMean(string? suggestion, string otherwise = ".") =>
        suggestion is null ? otherwise : $"; did you mean '{suggestion}'?";

    [DoesNotReturn]
    private static object Fail(string path, string detail, Exception? inner = null) => Fail<object>(path, detail, inner);

    [DoesNotReturn]
    private static T Fail<T>(string path, string detail, Exception? inner = null) =>
        throw new ConfigException(null, path, detail, inner);
}
