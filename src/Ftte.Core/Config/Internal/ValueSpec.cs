using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Reflection;

namespace Ftte.Core.Config.Internal;

internal enum ValueKind { String, Boolean, Integer, Float, Enum, Object, List, Map }

/// <summary>How a list or map is built once its items are bound.</summary>
internal enum CollectionShape { None, Array, List, ReadOnlyList, Dictionary, ReadOnlyDictionary }

/// <summary>What the attributes of a key ask of its value (for a list or map: of each item).</summary>
internal sealed record ValueRules(bool ByteSize, bool Duration, ConfigRangeAttribute? Range, IReadOnlyList<string>? Allowed)
{
    public static readonly ValueRules None = new(false, false, null, null);

    public static ValueRules Of(PropertyInfo? property, ParameterInfo? parameter)
    {
        T? Find<T>() where T : Attribute => property?.GetCustomAttribute<T>() ?? parameter?.GetCustomAttribute<T>();
        var rules = new ValueRules(
            Find<ByteSizeValueAttribute>() is not null,
            Find<DurationValueAttribute>() is not null,
            Find<ConfigRangeAttribute>(),
            Find<AllowedValuesAttribute>()?.Values);
        return rules == None ? None : rules;
    }
}

/// <summary>The shape of one value: its kind, whether null is accepted, its rules, and for a list or map the item's spec.</summary>
internal sealed class ValueSpec
{
    private static readonly Dictionary<Type, (decimal Min, decimal Max)> IntegerRanges = new()
    {
        [typeof(sbyte)] = (sbyte.MinValue, sbyte.MaxValue),
        [typeof(byte)] = (byte.MinValue, byte.MaxValue),
        [typeof(short)] = (short.MinValue, short.MaxValue),
        [typeof(ushort)] = (ushort.MinValue, ushort.MaxValue),
        [typeof(int)] = (int.MinValue, int.MaxValue),
        [typeof(uint)] = (uint.MinValue, uint.MaxValue),
        [typeof(long)] = (long.MinValue, long.MaxValue),
        [typeof(ulong)] = (ulong.MinValue, ulong.MaxValue),
    };

    private static readonly ConcurrentDictionary<Type, EnumNames> EnumCache = new();

    private ValueSpec(Type type, Type core, bool nullable, ValueKind kind, ValueRules rules, CollectionShape shape, ValueSpec? item)
    {
        Type = type;
        Core = core;
        Nullable = nullable;
        Kind = kind;
        Rules = rules;
        Shape = shape;
        Item = item;
    }

    /// <summary>The declared type (<c>int?</c>, <c>IReadOnlyList&lt;Strategy&gt;</c>).</summary>
    public Type Type { get; }

    /// <summary>The declared type without <see cref="Nullable{T}"/>.</summary>
    public Type Core { get; }

    public bool Nullable { get; }
    public ValueKind Kind { get; }
    public ValueRules Rules { get; }
    public CollectionShape Shape { get; }
    public ValueSpec? Item { get; }

    public (decimal Min, decimal Max) IntegerRange => IntegerRanges[Core];
    public EnumNames Enum => EnumCache.GetOrAdd(Core, static t => new EnumNames(t));
    public ObjectModel Object => ObjectModel.For(Core);

    /// <summary>
    /// The spec of a value of <paramref name="type"/>; <paramref name="nullability"/> (from a property or parameter)
    /// says whether a reference type, or a list's items, may be null.
    /// </summary>
    public static ValueSpec For(Type type, NullabilityInfo? nullability, ValueRules rules)
    {
        Type? underlying = System.Nullable.GetUnderlyingType(type);
        Type core = underlying ?? type;
        bool nullable = underlying is not null || (!type.IsValueType && nullability?.ReadState == NullabilityState.Nullable);

        if (core == typeof(string)) return Leaf(ValueKind.String);
        if (core == typeof(bool)) return Leaf(ValueKind.Boolean);
        if (IntegerRanges.ContainsKey(core)) return Leaf(ValueKind.Integer);
        if (core == typeof(double) || core == typeof(float)) return Leaf(ValueKind.Float);
        if (core.IsEnum) return Leaf(ValueKind.Enum);

        if (core.IsArray && core.GetArrayRank() == 1)
            return Collection(ValueKind.List, CollectionShape.Array, core.GetElementType()!, nullability?.ElementType);
        if (core.IsGenericType)
        {
            Type definition = core.GetGenericTypeDefinition();
            Type[] args = core.GetGenericArguments();
            NullabilityInfo[]? argInfo = nullability?.GenericTypeArguments;
            if (definition == typeof(List<>) || definition == typeof(IList<>) || definition == typeof(ICollection<>))
                return Collection(ValueKind.List, CollectionShape.List, args[0], argInfo?.ElementAtOrDefault(0));
            if (definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>) || definition == typeof(IEnumerable<>))
                return Collection(ValueKind.List, CollectionShape.ReadOnlyList, args[0], argInfo?.ElementAtOrDefault(0));
            if (definition == typeof(Dictionary<,>) || definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>))
            {
                if (args[0] != typeof(string))
                    throw new InvalidOperationException($"Configuration maps need string keys; {core} has {args[0]} keys.");
                var mapShape = definition == typeof(IReadOnlyDictionary<,>) ? CollectionShape.ReadOnlyDictionary : CollectionShape.Dictionary;
                return Collection(ValueKind.Map, mapShape, args[1], argInfo?.ElementAtOrDefault(1));
            }
        }

        if (core.IsPrimitive || core.IsPointer || typeof(System.Collections.IEnumerable).IsAssignableFrom(core) || core.IsAbstract || core.IsInterface)
            throw new InvalidOperationException($"The configuration binder does not support values of type {core}.");
        Check(rules, ValueKind.Object, core);
        return new ValueSpec(type, core, nullable, ValueKind.Object, ValueRules.None, CollectionShape.None, null);

        ValueSpec Leaf(ValueKind kind)
        {
            Check(rules, kind, core);
            return new ValueSpec(type, core, nullable, kind, rules, CollectionShape.None, null);
        }

        ValueSpec Collection(ValueKind kind, CollectionShape shape, Type itemType, NullabilityInfo? itemInfo) =>
            new(type, core, nullable, kind, rules, shape, For(itemType, itemInfo, rules));
    }

    /// <summary>A new list or map of this spec's shape holding <paramref name="items"/> (a <see cref="List{T}"/> or a <see cref="Dictionary{TKey, TValue}"/> of the item type).</summary>
    public object Wrap(object items) => Shape switch
    {
        CollectionShape.Array => ToArray(items),
        CollectionShape.List or CollectionShape.Dictionary => items,
        CollectionShape.ReadOnlyList => Activator.CreateInstance(typeof(ReadOnlyCollection<>).MakeGenericType(Item!.Type), items)!,
        CollectionShape.ReadOnlyDictionary => Activator.CreateInstance(typeof(ReadOnlyDictionary<,>).MakeGenericType(typeof(string), Item!.Type), items)!,
        _ => throw new InvalidOperationException($"{Type} is not a collection."),
    };

    /// <summary>An empty <see cref="List{T}"/> or <see cref="Dictionary{TKey, TValue}"/> (ordinal keys) to bind items into.</summary>
    public object NewItems() => Kind == ValueKind.List
        ? Activator.CreateInstance(typeof(List<>).MakeGenericType(Item!.Type))!
        : Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), Item!.Type), StringComparer.Ordinal)!;

    private object ToArray(object items)
    {
        var list = (System.Collections.IList)items;
        var array = System.Array.CreateInstance(Item!.Type, list.Count);
        list.CopyTo(array, 0);
        return array;
    }

    private static void Check(ValueRules rules, ValueKind kind, Type type)
    {
        if (rules.ByteSize && kind != ValueKind.Integer) Misplaced(nameof(ByteSizeValueAttribute), "integers");
        if (rules.Duration && kind != ValueKind.Float) Misplaced(nameof(DurationValueAttribute), "double or float seconds");
        if (rules.Range is not null && kind is not (ValueKind.Integer or ValueKind.Float)) Misplaced(nameof(ConfigRangeAttribute), "numbers");
        if (rules.Allowed is not null && kind != ValueKind.String) Misplaced(nameof(AllowedValuesAttribute), "strings");

        void Misplaced(string attribute, string fits) =>
            throw new InvalidOperationException($"{attribute} fits {fits}, not {type}.");
    }
}

/// <summary>An enum's members with their JSON names: kebab-case (<c>FedBuff</c> → <c>fed-buff</c>).</summary>
internal sealed class EnumNames
{
    public EnumNames(Type type)
    {
        var names = new List<(object Value, string Json)>();
        foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
            names.Add((field.GetValue(null)!, ConfigText.Kebab(field.Name)));
        Members = names;
        Allowed = names.Select(n => n.Json).ToArray();
    }

    public IReadOnlyList<(object Value, string Json)> Members { get; }
    public IReadOnlyList<string> Allowed { get; }

    /// <summary>The member whose name matches <paramref name="text"/> ignoring case, '-' and '_' ("fed-buff", "fedbuff", "FED_BUFF").</summary>
    public bool TryParse(string text, out object value)
    {
        string wanted = ConfigText.Normalize(text);
        foreach (var (v, json) in Members)
        {
            if (ConfigText.Normalize(json) == wanted)
            {
                value = v;
                return true;
            }
        }
        value = null!;
        return false;
    }

    public string NameOf(object value)
    {
        foreach (var (v, json) in Members)
            if (v.Equals(value)) return json;
        throw new InvalidOperationException($"{value} is not a named member of {value.GetType()}; it cannot be written as configuration.");
    }
}
