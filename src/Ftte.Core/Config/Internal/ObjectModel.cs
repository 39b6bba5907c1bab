using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;

namespace Ftte.Core.Config.Internal;

/// <summary>
/// How a configuration record or class is built: the constructor to call (a positional record's primary constructor,
/// or a parameterless one) and its members, each a JSON key (the property name in camelCase) bound either as a
/// constructor argument or through a <c>set</c>/<c>init</c> accessor. Built once per type by reflection.
/// </summary>
internal sealed class ObjectModel
{
    private static readonly ConcurrentDictionary<Type, ObjectModel> Cache = new();

    private ObjectModel(Type type, ConstructorInfo? constructor, int parameterCount, IReadOnlyList<MemberModel> members)
    {
        Type = type;
        Constructor = constructor;
        ParameterCount = parameterCount;
        Members = members;
        ByKey = members.ToDictionary(m => m.Key, StringComparer.Ordinal);
        Keys = members.Select(m => m.Key).ToArray();
    }

    public Type Type { get; }

    /// <summary>Null for a struct built by its implicit parameterless constructor.</summary>
    public ConstructorInfo? Constructor { get; }

    public int ParameterCount { get; }

    /// <summary>Constructor parameters in order, then the other settable properties in declaration order.</summary>
    public IReadOnlyList<MemberModel> Members { get; }

    public IReadOnlyDictionary<string, MemberModel> ByKey { get; }
    public IReadOnlyList<string> Keys { get; }

    public static ObjectModel For(Type type) => Cache.GetOrAdd(type, Build);

    /// <summary>
    /// Builds an instance from <paramref name="arguments"/> (one per constructor parameter), then sets <paramref name="properties"/>.
    /// An <see cref="ArgumentException"/> thrown by the constructor or an accessor comes back as an
    /// <see cref="ArgumentRejectedException"/>; other exceptions they throw come back unwrapped.
    /// </summary>
    public object Create(object?[] arguments, IEnumerable<(MemberModel Member, object? Value)> properties)
    {
        object instance;
        try
        {
            instance = Constructor is null ? Activator.CreateInstance(Type)! : Constructor.Invoke(arguments);
            foreach (var (member, value) in properties) member.Property.SetValue(instance, value);
        }
        catch (TargetInvocationException e) when (e.InnerException is ArgumentException rejected)
        {
            throw new ArgumentRejectedException(rejected);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        return instance;
    }

    /// <summary>An instance with every member at its default (required ones at zero/null), to read initialisers from; null if the constructor refuses.</summary>
    public object? TryCreateDefault()
    {
        var arguments = new object?[ParameterCount];
        foreach (var member in Members)
            if (member.ParameterIndex >= 0) arguments[member.ParameterIndex] = member.ParameterDefault;
        try
        {
            return Create(arguments, []);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }

    /// <summary>The type's own code refused a bound value (the inner exception says why).</summary>
    internal sealed class ArgumentRejectedException(ArgumentException inner) : Exception(inner.Message, inner);

    private static ObjectModel Build(Type type)
    {
        var context = new NullabilityInfoContext();
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.GetMethod is not null && !p.IsDefined(typeof(JsonIgnoreAttribute)))
            .ToArray();

        // The public constructor whose parameters all name properties, the widest such one (a positional record's primary constructor).
        ConstructorInfo? constructor = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .Where(c => c.GetParameters().All(p => FindProperty(properties, p) is not null))
            .OrderByDescending(c => c.GetParameters().Length)
            .FirstOrDefault();
        if (constructor is null && !type.IsValueType)
            throw new InvalidOperationException(
                $"{type} cannot be bound from configuration: it needs a public constructor whose parameters are named after its properties, or a parameterless one.");

        var members = new List<MemberModel>();
        var parameters = constructor?.GetParameters() ?? [];
        for (int i = 0; i < parameters.Length; i++)
        {
            var parameter = parameters[i];
            var property = FindProperty(properties, parameter)!;
            var spec = ValueSpec.For(parameter.ParameterType, context.Create(parameter), ValueRules.Of(property, parameter));
            bool hasDefault = parameter.HasDefaultValue;
            object? parameterDefault = hasDefault ? ParameterDefault(parameter) : ZeroOf(parameter.ParameterType);
            bool required = !hasDefault && !spec.Nullable;
            members.Add(new MemberModel(KeyOf(property), property, spec, i, hasDefault, parameterDefault, required, DocOf(property, parameter)));
        }
        foreach (var property in properties)
        {
            if (members.Any(m => m.Property == property) || property.SetMethod is not { IsPublic: true }) continue;
            var spec = ValueSpec.For(property.PropertyType, context.Create(property), ValueRules.Of(property, null));
            bool required = property.IsDefined(typeof(RequiredMemberAttribute));
            members.Add(new MemberModel(KeyOf(property), property, spec, -1, false, null, required, DocOf(property, null)));
        }

        var duplicate = members.GroupBy(m => m.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"{type} has two members with the configuration key '{duplicate.Key}'.");
        return new ObjectModel(type, constructor, parameters.Length, members);
    }

    private static PropertyInfo? FindProperty(PropertyInfo[] properties, ParameterInfo parameter) =>
        properties.FirstOrDefault(p => string.Equals(p.Name, parameter.Name, StringComparison.OrdinalIgnoreCase)
            && p.PropertyType == parameter.ParameterType);

    private static string KeyOf(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? ConfigText.CamelCase(property.Name);

    private static string? DocOf(PropertyInfo property, ParameterInfo? parameter) =>
        (property.GetCustomAttribute<ConfigDocAttribute>() ?? parameter?.GetCustomAttribute<ConfigDocAttribute>())?.Text;

    private static object? ParameterDefault(ParameterInfo parameter)
    {
        object? value = parameter.DefaultValue;
        Type type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        if (value is null) return ZeroOf(parameter.ParameterType);
        // Metadata stores an enum default as its underlying integer.
        return type.IsEnum && value.GetType() != type ? Enum.ToObject(type, value) : value;
    }

    private static object? ZeroOf(Type type) =>
        type.IsValueType && Nullable.GetUnderlyingType(type) is null ? Activator.CreateInstance(type) : null;
}

/// <summary>One key of an <see cref="ObjectModel"/>.</summary>
/// <param name="ParameterIndex">The constructor parameter it binds to, or −1 when it is set through its property.</param>
/// <param name="ParameterDefault">The argument passed when the key is absent (the parameter's default, or zero/null).</param>
/// <param name="Required">The key must be present: a non-nullable parameter without default, or a <c>required</c> property.</param>
internal sealed record MemberModel(
    string Key,
    PropertyInfo Property,
    ValueSpec Spec,
    int ParameterIndex,
    bool HasParameterDefault,
    object? ParameterDefault,
    bool Required,
    string? Doc);
