namespace Ftte.Simulation.Tests.Fleet;

using Ftte.Simulation.Fleet;

public sealed class FleetFileTests : IDisposable
{
    private const string Header =
        "id,tier,memory_bytes,flops_per_second,downlink_bps,uplink_bps,latency_s,availability,mean_on_s,mean_off_s,daily_start_hour,daily_hours,dropout_probability";

    private readonly string _dir = Directory.CreateTempSubdirectory("ftte-fleet-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private string Write(string name, string text)
    {
        string path = PathOf(name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A generated fleet with all three availability kinds and awkward doubles.</summary>
    private static DeviceFleet MixedFleet()
    {
        var devices = FleetPresets.Create("tiers4", 200, seed: 12).Devices.ToArray();
        devices[3] = devices[3] with { Availability = Availability.Daily(22.5, 7.25), LatencySeconds = 0.1 + 0.2 };
        devices[4] = devices[4] with { Availability = Availability.Daily(0, 24), DropoutProbability = 1.0 / 3 };
        devices[5] = devices[5] with { FlopsPerSecond = double.Epsilon * 1e300, LatencySeconds = 0, DropoutProbability = 1 };
        return new DeviceFleet(devices);
    }

    [Theory]
    [InlineData("fleet.csv")]
    [InlineData("fleet.json")]
    [InlineData("FLEET.JSON")]
    public void SaveLoad_RoundTrip_Exact(string name)
    {
        DeviceFleet fleet = MixedFleet();
        string path = PathOf(name);

        FleetFile.Save(fleet, path);
        DeviceFleet loaded = FleetFile.Load(path);

        Assert.Equal(fleet.Devices, loaded.Devices);
        Assert.Equal(fleet.Tiers, loaded.Tiers);
    }

    [Fact]
    public void Save_Csv_WritesHeaderAndEmptyCellsForOtherKinds()
    {
        var fleet = new DeviceFleet([new DeviceProfile(0, "s", 1024, 5e6, 1e5, 5e4, 0.5, Availability.Always, 0.05)]);
        string path = PathOf("one.csv");

        FleetFile.Save(fleet, path);

        Assert.Equal([Header, "0,s,1024,5000000,100000,50000,0.5,always,,,,,0.05"], File.ReadAllLines(path));
    }

    [Fact]
    public void Load_CsvColumnsInAnyOrder_WithByteSizeAndBlankLines()
    {
        string path = Write("any.csv",
            "tier,id,memory_bytes,flops_per_second,downlink_bps,uplink_bps,latency_s,availability,mean_on_s,mean_off_s,daily_start_hour,daily_hours,dropout_probability\n" +
            "\n" +
            "watch,1,2MiB,1e8,2e6,1e6,0.2,markov,1800,600,,,0.05\r\n" +
            "sensor,0,786432,5e6,1e5,5e4,0.5,daily,,,22,8,0\n\n");

        DeviceFleet fleet = FleetFile.Load(path);

        Assert.Equal(new DeviceProfile(0, "sensor", 786432, 5e6, 1e5, 5e4, 0.5, Availability.Daily(22, 8), 0), fleet[0]);
        Assert.Equal(new DeviceProfile(1, "watch", 2 * 1024 * 1024, 1e8, 2e6, 1e6, 0.2, Availability.Markov(1800, 600), 0.05), fleet[1]);
    }

    [Fact]
    public void Load_JsonMemoryAsSizeText_Parsed()
    {
        string path = Write("size.json", """
            {"devices": [{"id": 0, "tier": "t", "memoryBytes": "1.5MiB", "flopsPerSecond": 1e9, "downlinkBps": 1e7,
              "uplinkBps": 1e6, "latencyS": 0.1, "availability": "always", "meanOnS": null, "dropoutProbability": 0}]}
            """);

        Assert.Equal(1536 * 1024, FleetFile.Load(path)[0].MemoryBytes);
    }

    private const string Row0 = "0,s,1024,5e6,1e5,5e4,0.5,always,,,,,0.05";

    public static TheoryData<string, string[]> BadCsv => new()
    {
        { Header + ",colour\n" + Row0 + ",red\n", [":1:", "unknown column 'colour'", "dropout_probability"] },
        { Header.Replace(",latency_s", "") + "\n0,s,1024,5e6,1e5,5e4,always,,,,,0.05\n", [":1:", "'latency_s'", "missing from the header"] },
        { Header + ",id\n" + Row0 + ",0\n", [":1:", "'id'", "twice"] },
        { Row0 + "\n", [":1:", "header is missing"] },
        { "", ["empty", "header"] },
        { Header + "\n" + Row0.Replace("5e6", "fast") + "\n", [":2:", "'flops_per_second'", "'fast' is not a number", "> 0"] },
        { Header + "\n" + Row0.Replace("5e6", "NaN") + "\n", [":2:", "'flops_per_second'", "'NaN' is not a number"] },
        { Header + "\n" + Row0.Replace("5e6", "") + "\n", [":2:", "'flops_per_second'", "missing"] },
        { Header + "\n" + Row0.Replace("0.5,", "-0.5,") + "\n", [":2:", "'latency_s'", "-0.5 is out of range", "≥ 0"] },
        { Header + "\n" + Row0.Replace(",1024,", ",-1024,") + "\n", [":2:", "'memory_bytes'", "'-1024' is not valid", "2MiB"] },
        { Header + "\n" + Row0.Replace("0.05", "1.5") + "\n", [":2:", "'dropout_probability'", "[0, 1]"] },
        { Header + "\n" + Row0.Replace("always", "sometimes") + "\n", [":2:", "'availability'", "'sometimes'", "always, markov, daily"] },
        { Header + "\n" + Row0.Replace("always", "markov") + "\n", [":2:", "'mean_on_s'", "required for markov"] },
        { Header + "\n" + Row0.Replace("always,,,,", "daily,100,,8,") + "\n", [":2:", "'mean_on_s'", "not used by daily"] },
        { Header + "\n" + Row0.Replace("always,,,,", "daily,,,24,8") + "\n", [":2:", "'daily_start_hour'", "[0, 24)"] },
        { Header + "\n" + Row0.Replace(",s,", ",a\"b,") + "\n", [":2:", "'tier'", "quotes"] },
        { Header + "\n" + Row0 + ",extra\n", [":2:", "14 cells", "13 columns"] },
        { Header + "\n" + Row0.Replace("0,s", "x,s") + "\n", [":2:", "'id'", "'x'", "integer"] },
        { Header + "\n" + Row0 + "\n" + Row0 + "\n", [":3:", "'id'", "0 is a duplicate", "line 2"] },
        { Header + "\n" + Row0 + "\n" + Row0.Replace("0,s", "2,s") + "\n", [":3:", "'id'", "2 is out of range", "0..1"] },
        { Header + "\n", ["no devices"] },
    };

    [Theory]
    [MemberData(nameof(BadCsv))]
    public void Load_MalformedCsv_ErrorSaysWhereAndWhat(string text, string[] fragments)
    {
        string path = Write("bad.csv", text);

        var e = Assert.Throws<FleetFormatException>(() => FleetFile.Load(path));

        Assert.StartsWith(path, e.Message);
        foreach (string fragment in fragments) Assert.Contains(fragment, e.Message);
    }

    private const string Device0 = """{"id": 0, "tier": "s", "memoryBytes": 1024, "flopsPerSecond": 5e6, "downlinkBps": 1e5, "uplinkBps": 5e4, "latencyS": 0.5, "availability": "always", "dropoutProbability": 0.05}""";

    private static string Doc(params string[] devices) => $$"""{"devices": [{{string.Join(",\n", devices)}}]}""";

    public static TheoryData<string, string[]> BadJson => new()
    {
        { Doc(Device0.Replace("\"tier\"", "\"colour\": \"red\", \"tier\"")), ["$.devices[0].colour", "unknown key", "dropoutProbability"] },
        { Doc(Device0.Replace("5e6", "\"fast\"")), ["$.devices[0].flopsPerSecond", "\"fast\" is not valid", "> 0"] },
        { Doc(Device0.Replace("\"latencyS\": 0.5, ", "")), ["$.devices[0].latencyS", "missing"] },
        { Doc(Device0.Replace("0.5", "-1")), ["$.devices[0].latencyS", "-1 is out of range"] },
        { Doc(Device0.Replace("1024", "10.5")), ["$.devices[0].memoryBytes", "10.5 is not valid", "integer"] },
        { Doc(Device0.Replace("\"always\"", "\"weekly\"")), ["$.devices[0].availability", "\"weekly\"", "always, markov, daily"] },
        { Doc(Device0.Replace("\"always\"", "\"markov\", \"meanOnS\": 10")), ["$.devices[0].meanOffS", "required for markov"] },
        { Doc(Device0.Replace("\"id\": 0, ", "\"id\": 0, \"id\": 1, ")), ["$.devices[0].id", "twice"] },
        { Doc(Device0, Device0), ["$.devices[1].id", "0 is a duplicate", "$.devices[0]"] },
        { Doc(Device0, Device0.Replace("\"id\": 0", "\"id\": 5")), ["$.devices[1].id", "5 is out of range", "0..1"] },
        { Doc(Device0, "[1, 2]"), ["$.devices[1]", "expected a device object"] },
        { Doc(), ["$.devices", "no devices"] },
        { "{\"fleet\": []}", ["$.fleet", "unknown key"] },
        { "{}", ["$.devices", "missing"] },
        { "[]", ["$", "expected an object"] },
        { "{\"devices\": [\n" + Device0 + ",\n}", [":3:", "not valid JSON"] },
    };

    [Theory]
    [MemberData(nameof(BadJson))]
    public void Load_MalformedJson_ErrorSaysWhereAndWhat(string text, string[] fragments)
    {
        string path = Write("bad.json", text);

        var e = Assert.Throws<FleetFormatException>(() => FleetFile.Load(path));

        Assert.StartsWith(path, e.Message);
        foreach (string fragment in fragments) Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Load_JsonError_ExposesPathAndField()
    {
        string path = Write("bad.json", Doc(Device0.Replace("5e6", "0")));

        var e = Assert.Throws<FleetFormatException>(() => FleetFile.Load(path));

        Assert.Equal(path, e.FilePath);
        Assert.Equal("$.devices[0].flopsPerSecond", e.JsonPath);
        Assert.Equal("flopsPerSecond", e.Field);
    }

    [Fact]
    public void Load_CsvError_ExposesLineAndField()
    {
        string path = Write("bad.csv", Header + "\n" + Row0.Replace("5e4", "slow") + "\n");

        var e = Assert.Throws<FleetFormatException>(() => FleetFile.Load(path));

        Assert.Equal(2, e.Line);
        Assert.Equal("uplink_bps", e.Field);
    }

    [Fact]
    public void Load_WrongExtension_Throws()
    {
        string path = Write("fleet.txt", Header + "\n" + Row0 + "\n");

        var e = Assert.Throws<FleetFormatException>(() => FleetFile.Load(path));

        Assert.Contains("'.txt'", e.Message);
        Assert.Contains(".csv or .json", e.Message);
    }

    [Fact]
    public void Save_WrongExtension_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => FleetFile.Save(MixedFleet(), PathOf("fleet.yaml")));

        Assert.Contains(".csv or .json", e.Message);
    }

    [Fact]
    public void Load_ManyDevices_SharesTierAndAvailabilityInstances()
    {
        string path = PathOf("many.csv");
        FleetFile.Save(FleetPresets.Create("stragglers-90", 500, seed: 1), path);

        DeviceFleet fleet = FleetFile.Load(path);

        Assert.Equal(2, fleet.Devices.Select(d => d.Availability).Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(2, fleet.Devices.Select(d => d.Tier).Distinct(ReferenceEqualityComparer.Instance).Count());
    }
}
