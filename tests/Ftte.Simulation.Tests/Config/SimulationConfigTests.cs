using Ftte.Core.Config;
using Ftte.Federation.Config;
using Ftte.Simulation.Config;

namespace Ftte.Simulation.Tests.Config;

/// <summary>Config mistakes fail at start with the key's path and what would have been accepted.</summary>
public class SimulationConfigTests
{
    private static SimulationConfig Parse(string json) => StrictJson.Parse<SimulationConfig>(json, "test.json");

    private static ConfigException Error(string json) => Assert.Throws<ConfigException>(() => Parse(json));

    [Fact]
    public void UnknownKey_NamesItsPath_AndSuggestsTheClosestKey()
    {
        var e = Error("""{ "fleet": { "devics": 5 } }""");
        Assert.Equal("fleet.devics", e.Path);
        Assert.StartsWith("test.json: fleet.devics: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("'devices'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownKeyInAStrategy_NamesItsIndex()
    {
        var e = Error("""{ "strategies": [ { "kind": "fedbuff", "bufersize": 10 } ] }""");
        Assert.Equal("strategies[0].bufersize", e.Path);
        Assert.Contains("'bufferSize'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadStrategyKind_ListsTheAllowedKinds()
    {
        var e = Error("""{ "strategies": [ { "kind": "fedprox" } ] }""");
        Assert.Equal("strategies[0].kind", e.Path);
        Assert.Contains("fedprox", e.Message, StringComparison.Ordinal);
        foreach (string kind in new[] { "fedavg", "fedasync", "fedbuff" })
            Assert.Contains(kind, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fedavg", "bufferSize", "10")]
    [InlineData("fedavg", "concurrency", "10")]
    [InlineData("fedasync", "bufferSize", "10")]
    [InlineData("fedasync", "deadline", "60")]
    [InlineData("fedbuff", "alpha", "0.5")]
    [InlineData("fedbuff", "devicesPerRound", "10")]
    public void KeyOfAnotherStrategyKind_IsRefused_NamingIt(string kind, string key, string value)
    {
        var e = Error($$"""{ "strategies": [ { "kind": "fedbuff" }, { "kind": "{{kind}}", "{{key}}": {{value}} } ] }""");
        Assert.Equal($"strategies[1].{key}", e.Path);
        Assert.Contains($"does not apply to {kind}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EachKindAcceptsItsOwnKeys()
    {
        var config = Parse("""
        {
          "strategies": [
            { "kind": "fedavg", "devicesPerRound": 8, "overSelection": 1.3, "deadline": "2min", "serverLearningRate": 1 },
            { "kind": "fedasync", "concurrency": 5, "alpha": 0.5, "staleness": "hinge", "stalenessA": 10, "stalenessB": 4, "maxStaleness": 20 },
            { "kind": "fedbuff", "concurrency": 5, "bufferSize": 3, "serverLearningRate": 0.5, "staleness": "polynomial", "maxStaleness": 8 }
          ]
        }
        """);
        Assert.Equal([StrategyKind.Fedavg, StrategyKind.Fedasync, StrategyKind.Fedbuff], config.Strategies.Select(s => s.Kind));
        Assert.Equal(120, config.Strategies[0].Deadline);
        Assert.Equal(Ftte.Federation.Aggregation.StalenessKind.Hinge, config.Strategies[1].Staleness);
        Assert.Equal(3, config.Strategies[2].BufferSize);
    }

    [Fact]
    public void UnknownDataset_ListsTheDatasets()
    {
        var e = Error("""{ "data": { "dataset": "cifar-1000" } }""");
        Assert.Equal("data.dataset", e.Path);
        Assert.Contains("cifar-1000", e.Message, StringComparison.Ordinal);
        Assert.Contains("mnist", e.Message, StringComparison.Ordinal);
        Assert.Contains("digits", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownFleetPreset_ListsThePresets()
    {
        var e = Error("""{ "fleet": { "preset": "datacenter" } }""");
        Assert.Equal("fleet.preset", e.Path);
        Assert.Contains("datacenter", e.Message, StringComparison.Ordinal);
        foreach (string preset in Ftte.Simulation.Fleet.FleetPresets.Names)
            Assert.Contains(preset, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FleetFile_ReplacesThePresetCheck()
    {
        var config = Parse("""{ "fleet": { "preset": "datacenter", "file": "my-fleet.csv" } }""");
        Assert.Equal("my-fleet.csv", config.Fleet.File);
    }

    [Fact]
    public void DuplicateStrategyLabels_AreRefused()
    {
        var e = Error("""{ "strategies": [ { "kind": "fedbuff", "bufferSize": 5 }, { "kind": "fedbuff", "bufferSize": 10 } ] }""");
        Assert.Equal("strategies[1]", e.Path);
        Assert.Contains("'fedbuff'", e.Message, StringComparison.Ordinal);
        Assert.Contains("\"name\"", e.Message, StringComparison.Ordinal);

        var named = Parse("""{ "strategies": [ { "kind": "fedbuff", "bufferSize": 5 }, { "kind": "fedbuff", "name": "fedbuff-k10", "bufferSize": 10 } ] }""");
        Assert.Equal(["fedbuff", "fedbuff-k10"], named.Strategies.Select(s => s.Label));
    }

    [Fact]
    public void EmptyStrategyList_IsRefused()
    {
        var e = Error("""{ "strategies": [] }""");
        Assert.Equal("strategies", e.Path);
    }

    [Theory]
    [InlineData("\"15min\"", 900)]
    [InlineData("\"90s\"", 90)]
    [InlineData("\"2h\"", 7200)]
    [InlineData("600", 600)]
    public void Durations_ParseToSeconds(string value, double seconds)
    {
        var config = Parse($$"""{ "run": { "maxTime": {{value}} } }""");
        Assert.Equal(seconds, config.Run.MaxTime);
    }

    [Theory]
    [InlineData("\"15 parsecs\"")]
    [InlineData("0")]
    [InlineData("-5")]
    public void BadDurations_AreRefused_NamingTheKey(string value)
    {
        var e = Error($$"""{ "run": { "maxTime": {{value}} } }""");
        Assert.Equal("run.maxTime", e.Path);
    }

    [Theory]
    [InlineData("""{ "fleet": { "devices": 0 } }""", "fleet.devices")]
    [InlineData("""{ "local": { "batch": "sixteen" } }""", "local.batch")]
    [InlineData("""{ "run": { "targetAccuracy": 1.5 } }""", "run.targetAccuracy")]
    [InlineData("""{ "strategies": [ { "kind": "fedasync", "alpha": 2 } ] }""", "strategies[0].alpha")]
    [InlineData("""{ "strategies": [ { "kind": "fedbuff", "bufferSize": 0 } ] }""", "strategies[0].bufferSize")]
    public void OutOfRangeValues_AreRefused_NamingTheKey(string json, string path)
    {
        Assert.Equal(path, Error(json).Path);
    }

    [Theory]
    [InlineData("quick")]
    [InlineData("stragglers-500")]
    public void Presets_SerializeAndParseBackToTheSameConfig(string name)
    {
        var preset = SimulationPresets.Get(name);
        string text = StrictJson.Serialize(preset);
        var parsed = Parse(text);
        Assert.Equal(text, StrictJson.Serialize(parsed));
        Assert.Equal(preset.Name, parsed.Name);
        Assert.Equal(preset.Run, parsed.Run);
        Assert.Equal(preset.Fleet, parsed.Fleet);
        Assert.Equal(preset.Strategies, parsed.Strategies);
    }

    [Fact]
    public void UnknownPresetName_ListsThePresets()
    {
        var e = Assert.Throws<ArgumentException>(() => SimulationPresets.Get("huge"));
        Assert.Contains("'huge'", e.Message, StringComparison.Ordinal);
        foreach (string name in SimulationPresets.Names)
            Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmptyDocument_GivesTheDefaults()
    {
        var config = Parse("{}");
        Assert.Equal(StrictJson.Serialize(new SimulationConfig()), StrictJson.Serialize(config));
    }
}
