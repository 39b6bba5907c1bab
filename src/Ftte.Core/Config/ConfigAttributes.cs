namespace Ftte.Core.Config;

// The binder reads these from a property or from a positional record's constructor parameter (either target works).
// On a list or map they apply to each item.

/// <summary>An integer number of bytes that may also be written as a string: "262144", "256KiB", "1.5MiB", "2GiB" (see <see cref="ByteSize"/>).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class ByteSizeValueAttribute : Attribute;

/// <summary>A duration in seconds (double) that may also be written as a string: "500ms", "90s", "15min", "2h", "1d".</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class DurationValueAttribute : Attribute;

/// <summary>An inclusive range for a number: <c>[ConfigRange(0, 1)]</c>; <c>[ConfigRange(1)]</c> means ≥ 1.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class ConfigRangeAttribute(double min, double max = double.PositiveInfinity) : Attribute
{
    public double Min { get; } = min;
    public double Max { get; } = max;
}

/// <summary>The only strings a key accepts (compared ordinally).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class AllowedValuesAttribute(params string[] values) : Attribute
{
    public IReadOnlyList<string> Values { get; } = values;
}

/// <summary>One line of documentation for a key, shown by <see cref="StrictJson.Describe{T}"/>.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class ConfigDocAttribute(string text) : Attribute
{
    public string Text { get; } = text;
}
