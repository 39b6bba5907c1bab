namespace Ftte.Core.Config;

/// <summary>
/// A configuration mistake, told as <c>source: path: what was expected, what was found.</c>, e.g.
/// <c>config.json: strategies[1].bufferSize: expected an integer ≥ 1, got 0.</c>
/// </summary>
public sealed class ConfigException : Exception
{
    private string? _source;

    public ConfigException(string message) : base(message)
    {
        Detail = message;
    }

    /// <summary>A mistake at <paramref name="path"/> (a JSON path such as <c>fleet.devices</c>; see <see cref="ConfigPath"/>).</summary>
    public ConfigException(string path, string detail) : this(null, path, detail, null)
    {
    }

    public ConfigException(string? source, string? path, string detail, Exception? innerException)
        : base(Compose(source, path, detail), innerException)
    {
        _source = source;
        Path = path;
        Detail = detail;
    }

    /// <summary>The JSON path of the offending key (<c>$</c> for the document itself), or null when the mistake has no path (a syntax error).</summary>
    public string? Path { get; }

    /// <summary>Where the configuration came from (a file name), or null when bound from an element with no source.</summary>
    public override string? Source
    {
        get => _source;
        set => _source = value;
    }

    /// <summary>The message without its source and path prefix.</summary>
    public string Detail { get; }

    /// <summary>1-based line of a JSON syntax error.</summary>
    public int? Line { get; init; }

    /// <summary>1-based column (byte position in the line) of a JSON syntax error.</summary>
    public int? Column { get; init; }

    /// <summary>The same mistake, attributed to <paramref name="source"/>.</summary>
    internal ConfigException WithSource(string source) =>
        new(source, Path, Detail, InnerException) { Line = Line, Column = Column };

    private static string Compose(string? source, string? path, string detail)
    {
        string prefix = source is null ? "" : source + ": ";
        return path is null ? prefix + detail : prefix + path + ": " + detail;
    }
}
