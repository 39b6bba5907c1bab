using System.Globalization;

namespace Ftte.Simulation.Fleet.Internal;

/// <summary>
/// The CSV fleet format: a header naming the 13 columns (any order), then one device per line. Cells are
/// unquoted (tier names cannot hold commas or quotes); blank lines are skipped; the availability fields
/// of other kinds are left empty.
/// </summary>
internal static class FleetCsv
{
    public static void Write(DeviceFleet fleet, TextWriter writer)
    {
        writer.Write(string.Join(',', FleetFields.CsvNames));
        writer.Write('\n');
        var cells = new string[FleetFields.Count];
        foreach (DeviceProfile d in fleet.Devices)
        {
            Availability a = d.Availability;
            cells[(int)Field.Id] = d.Id.ToString(CultureInfo.InvariantCulture);
            cells[(int)Field.Tier] = d.Tier;
            cells[(int)Field.MemoryBytes] = d.MemoryBytes.ToString(CultureInfo.InvariantCulture);
            cells[(int)Field.FlopsPerSecond] = FleetFields.Show(d.FlopsPerSecond);
            cells[(int)Field.DownlinkBps] = FleetFields.Show(d.DownlinkBitsPerSecond);
            cells[(int)Field.UplinkBps] = FleetFields.Show(d.UplinkBitsPerSecond);
            cells[(int)Field.LatencyS] = FleetFields.Show(d.LatencySeconds);
            cells[(int)Field.Availability] = FleetFields.KindName(a.Kind);
            bool markov = a.Kind == AvailabilityKind.Markov, daily = a.Kind == AvailabilityKind.Daily;
            cells[(int)Field.MeanOnS] = markov ? FleetFields.Show(a.MeanOnSeconds) : "";
            cells[(int)Field.MeanOffS] = markov ? FleetFields.Show(a.MeanOffSeconds) : "";
            cells[(int)Field.DailyStartHour] = daily ? FleetFields.Show(a.DailyStartHour) : "";
            cells[(int)Field.DailyHours] = daily ? FleetFields.Show(a.DailyHours) : "";
            cells[(int)Field.DropoutProbability] = FleetFields.Show(d.DropoutProbability);
            writer.Write(string.Join(',', cells));
            writer.Write('\n');
        }
    }

    public static DeviceFleet Read(TextReader reader, string file)
    {
        int lineNumber = 0;
        int[]? fieldOfCell = null; // column index → Field
        var devices = new List<DeviceProfile>();
        var lines = new List<int>();
        var tiers = new Dictionary<string, string>(StringComparer.Ordinal);
        var availabilities = new Dictionary<Availability, Availability>();

        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string[] cells = line.Split(',');
            for (int i = 0; i < cells.Length; i++) cells[i] = cells[i].Trim();
            if (fieldOfCell is null)
            {
                fieldOfCell = ReadHeader(cells, file, lineNumber);
                continue;
            }
            if (cells.Length != fieldOfCell.Length)
                throw new FleetFormatException(file, lineNumber, null, null,
                    $"the line has {cells.Length} cells but the header has {fieldOfCell.Length} columns");
            int at = lineNumber;
            FleetFormatException Fail(Field f, string problem) =>
                new(file, at, null, FleetFields.CsvNames[(int)f], problem);

            var raw = new RawDevice();
            for (int c = 0; c < cells.Length; c++)
            {
                if (cells[c].Length == 0) continue; // empty = absent; Build says whether that is allowed
                Parse(raw, (Field)fieldOfCell[c], cells[c], Fail);
            }
            devices.Add(FleetFields.Build(raw, Fail, tiers, availabilities));
            lines.Add(lineNumber);
        }
        if (fieldOfCell is null)
            throw new FleetFormatException(file, null, null, null,
                $"the file is empty; expected a header line with the columns {string.Join(',', FleetFields.CsvNames)}");
        return FleetFields.Assemble(devices,
            (i, f, problem) => new FleetFormatException(file, lines[i], null, FleetFields.CsvNames[(int)f], problem),
            i => $"line {lines[i]}",
            problem => new FleetFormatException(file, null, null, null, problem));
    }

    private static int[] ReadHeader(string[] cells, string file, int line)
    {
        var fieldOfCell = new int[cells.Length];
        var seen = new bool[FleetFields.Count];
        for (int c = 0; c < cells.Length; c++)
        {
            int f = Array.IndexOf(FleetFields.CsvNames, cells[c]);
            if (f < 0)
            {
                string problem = double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                    ? $"the header is missing (the first line starts with data); expected the columns {string.Join(',', FleetFields.CsvNames)}"
                    : $"unknown column '{cells[c]}'; the columns are {string.Join(", ", FleetFields.CsvNames)}";
                throw new FleetFormatException(file, line, null, null, problem);
            }
            if (seen[f]) throw new FleetFormatException(file, line, null, cells[c], "the column appears twice in the header");
            seen[f] = true;
            fieldOfCell[c] = f;
        }
        for (int f = 0; f < FleetFields.Count; f++)
            if (!seen[f])
                throw new FleetFormatException(file, line, null, FleetFields.CsvNames[f],
                    $"the column is missing from the header; the columns are {string.Join(", ", FleetFields.CsvNames)}");
        return fieldOfCell;
    }

    private static void Parse(RawDevice raw, Field field, string text, Func<Field, string, FleetFormatException> fail)
    {
        switch (field)
        {
            case Field.Id:
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                    throw fail(field, $"'{text}' is not valid; expected {FleetFields.Expected(field)}");
                raw.Id = id;
                break;
            case Field.Tier:
                raw.Tier = text;
                break;
            case Field.MemoryBytes:
                if (!FleetFields.TryParseBytes(text, out long bytes))
                    throw fail(field, $"'{text}' is not valid; expected {FleetFields.Expected(field)}");
                raw.MemoryBytes = bytes;
                break;
            case Field.Availability:
                if (!FleetFields.TryParseKind(text, out AvailabilityKind kind))
                    throw fail(field, $"'{text}' is not an availability kind; expected {FleetFields.Expected(field)}");
                raw.Kind = kind;
                break;
            default:
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                    throw fail(field, $"'{text}' is not a number; expected {FleetFields.Expected(field)}");
                raw.Numbers[(int)field] = v;
                break;
        }
    }
}
