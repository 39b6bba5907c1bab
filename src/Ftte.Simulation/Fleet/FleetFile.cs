using Ftte.Simulation.Fleet.Internal;

namespace Ftte.Simulation.Fleet;

/// <summary>
/// Reads and writes fleets as CSV or JSON, chosen by the file extension (.csv, .json). Both formats carry
/// the same fields (see docs/fleets.md); numbers are written in invariant culture with round-trip
/// precision, so Save then Load gives back equal profiles. Reading is strict: any unknown column or key,
/// missing or malformed value, out-of-range number or id set other than 0..N−1 is a
/// <see cref="FleetFormatException"/> that names the file, the line or JSON path, and the field.
/// </summary>
public static class FleetFile
{
    /// <summary>The CSV columns, in the order they are written.</summary>
    public static IReadOnlyList<string> CsvColumns => FleetFields.CsvNames;

    /// <summary>The keys of one device object in JSON, in the order they are written.</summary>
    public static IReadOnlyList<string> JsonKeys => FleetFields.JsonNames;

    public static void Save(DeviceFleet fleet, string path)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(path);
        switch (FormatOf(path))
        {
            case ".csv":
                using (var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false)))
                    FleetCsv.Write(fleet, writer);
                break;
            case ".json":
                using (FileStream stream = File.Create(path))
                    FleetJson.Write(fleet, stream);
                break;
            default:
                throw new ArgumentException($"Cannot save a fleet as '{path}': the extension must be .csv or .json.", nameof(path));
        }
    }

    /// <exception cref="FleetFormatException">The file's content or extension is not a valid fleet.</exception>
    public static DeviceFleet Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        switch (FormatOf(path))
        {
            case ".csv":
                using (var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true))
                    return FleetCsv.Read(reader, path);
            case ".json":
                using (FileStream stream = File.OpenRead(path))
                    return FleetJson.Read(stream, path);
            default:
                throw new FleetFormatException(path, null, null, null,
                    $"unknown fleet file type '{Path.GetExtension(path)}'; expected a .csv or .json file");
        }
    }

    private static string FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant();
}

/// <summary>A fleet file that cannot be read; the message says where and what is allowed.</summary>
public sealed class FleetFormatException : FormatException
{
    public FleetFormatException(string file, int? line, string? jsonPath, string? field, string problem)
        : base(Compose(file, line, jsonPath, field, problem))
    {
        FilePath = file;
        Line = line;
        JsonPath = jsonPath;
        Field = field;
    }

    /// <summary>The file being read.</summary>
    public string FilePath { get; }

    /// <summary>1-based line (CSV, and JSON syntax errors), if known.</summary>
    public int? Line { get; }

    /// <summary>Where in a JSON document, e.g. <c>$.devices[3].flopsPerSecond</c>.</summary>
    public string? JsonPath { get; }

    /// <summary>The column or key at fault, if any.</summary>
    public string? Field { get; }

    private static string Compose(string file, int? line, string? jsonPath, string? field, string problem)
    {
        string where = line is int l ? $"{file}:{l}" : file;
        if (jsonPath is not null) where += $": {jsonPath}";
        else if (field is not null) where += $": column '{field}'";
        return $"{where}: {problem}.";
    }
}
