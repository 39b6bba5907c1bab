using System.Text.Json;
using Ftte.Core.Config;

namespace Ftte.Core.Tests.Config;

public sealed class StrictJsonBindTests
{
    private const string Full = """
        {
          // comments and trailing commas are accepted
          "seed": 42,
          "fleet": { "devices": 500, "participationRate": 0.25, "memoryBudget": "1.5MiB", "partition": "dirichlet" },
          "strategies": [
            { "kind": "fed-avg" },
            { "kind": "fed-buff", "bufferSize": 20, "concurrency": 8 },
          ],
          "rounds": 7,
          "timeLimit": "15min",
          "profiles": { "phone": { "gflops": 1.5, "memory": "2GiB" }, "tablet": { "gflops": 4, "memory": 1024 } },
          "note": "hello",
          "checkpoints": [1, 2, 3]
        }
        """;

    [Fact]
    public void Parse_FullDocument_BindsEveryKey()
    {
        var config = StrictJson.Parse<SimConfig>(Full, "config.json");

        Assert.Equal(42UL, config.Seed);
        Assert.Equal(new FleetConfig(500, 0.25) { MemoryBudget = 1536L * 1024, Partition = "dirichlet" }, config.Fleet);
        Assert.Equal([new StrategyConfig(StrategyKind.FedAvg), new StrategyConfig(StrategyKind.FedBuff, 20, 8)], config.Strategies);
        Assert.Equal(7, config.Rounds);
        Assert.Equal(900.0, config.TimeLimit);
        Assert.Equal(["phone", "tablet"], config.Profiles.Keys);
        Assert.Equal(new DeviceProfileConfig(1.5, 2L << 30), config.Profiles["phone"]);
        Assert.Equal(new DeviceProfileConfig(4, 1024), config.Profiles["tablet"]);
        Assert.Equal("hello", config.Note);
        Assert.Equal([1, 2, 3], config.Checkpoints);
    }

    [Fact]
    public void Parse_OnlyRequiredKeys_KeepsParameterDefaultsAndInitialisers()
    {
        var config = StrictJson.Parse<SimConfig>("""{ "seed": 1, "fleet": { "devices": 3 }, "strategies": [ { "kind": "fed-async" } ] }""", "c.json");

        Assert.Equal(0.1, config.Fleet.ParticipationRate);
        Assert.Equal(2L << 20, config.Fleet.MemoryBudget);
        Assert.Equal("uniform", config.Fleet.Partition);
        Assert.Equal(10, config.Strategies[0].BufferSize);
        Assert.Null(config.Strategies[0].Concurrency);
        Assert.Equal(100, config.Rounds);
        Assert.Equal(3600.0, config.TimeLimit);
        Assert.Empty(config.Profiles);
        Assert.Null(config.Note);
        Assert.Empty(config.Checkpoints);
    }

    [Theory]
    [InlineData("fed-buff")]
    [InlineData("fedbuff")]
    [InlineData("FedBuff")]
    [InlineData("FED_BUFF")]
    [InlineData("fed_buff")]
    public void Bind_EnumSpellings_MatchIgnoringCaseDashesAndUnderscores(string text)
    {
        var strategy = Bind<StrategyConfig>($$"""{ "kind": "{{text}}" }""");

        Assert.Equal(StrategyKind.FedBuff, strategy.Kind);
    }

    [Fact]
    public void Bind_ClassWithInitProperties_BindsAndKeepsInitialisers()
    {
        var options = Bind<TrainerOptions>("""{ "name": "t", "learningRate": 0.5, "fallback": "mobile-net-v2", "tags": ["a", null] }""");

        Assert.Equal("t", options.Name);
        Assert.Equal(0.5f, options.LearningRate);
        Assert.True(options.Enabled);
        Assert.Equal(StrategyKind.MobileNetV2, options.Fallback);
        Assert.Equal(ulong.MaxValue, options.MaxSamples);
        Assert.Equal([64, 32], options.Layers);
        Assert.Equal(["a", null], options.Tags);
    }

    [Fact]
    public void Bind_NullForNullableMembers_GivesNull()
    {
        var options = Bind<TrainerOptions>("""{ "name": "t", "fallback": null }""");
        var strategy = Bind<StrategyConfig>("""{ "kind": "fed-avg", "concurrency": null }""");

        Assert.Null(options.Fallback);
        Assert.Null(strategy.Concurrency);
    }

    [Theory]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    [InlineData("0", 0UL)]
    [InlineData("1e3", 1000UL)]
    [InlineData("5.0", 5UL)]
    public void Bind_IntegersWrittenAnyExactWay_Accepted(string json, ulong expected)
    {
        var options = Bind<TrainerOptions>($$"""{ "name": "t", "maxSamples": {{json}} }""");

        Assert.Equal(expected, options.MaxSamples);
    }

    [Theory]
    [InlineData("90", 90.0)]
    [InlineData("\"90s\"", 90.0)]
    [InlineData("\"15min\"", 900.0)]
    [InlineData("\"2h\"", 7200.0)]
    [InlineData("\"1.5h\"", 5400.0)]
    [InlineData("\"250ms\"", 0.25)]
    [InlineData("\"1d\"", 86400.0)]
    public void Bind_Durations_AreSeconds(string json, double seconds)
    {
        var config = StrictJson.Parse<SimConfig>($$"""{ "seed": 1, "fleet": { "devices": 1 }, "strategies": [], "timeLimit": {{json}} }""", "c.json");

        Assert.Equal(seconds, config.TimeLimit, 12);
    }

    [Theory]
    [InlineData("262144", 262144L)]
    [InlineData("\"256KiB\"", 262144L)]
    [InlineData("\"2MiB\"", 2097152L)]
    [InlineData("\"1GB\"", 1073741824L)]
    public void Bind_ByteSizes_AreBytes(string json, long bytes)
    {
        var fleet = Bind<FleetConfig>($$"""{ "devices": 1, "memoryBudget": {{json}} }""");

        Assert.Equal(bytes, fleet.MemoryBudget);
    }

    [Fact]
    public void Bind_UnderAPath_ErrorsNameKeysUnderIt()
    {
        using var document = JsonDocument.Parse("""{ "devices": 0 }""");

        var e = Assert.Throws<ConfigException>(() => StrictJson.Bind<FleetConfig>(document.RootElement, "simulation.fleet"));

        Assert.Equal("simulation.fleet.devices", e.Path);
    }

    [Fact]
    public void Bind_ValidatableTypeThatPasses_Binds()
    {
        var bounds = Bind<Bounds>("""{ "min": 1, "max": 2 }""");

        Assert.Equal(new Bounds(1, 2), bounds);
    }

    [Fact]
    public void Bind_ComputedProperty_IsNotAKey()
    {
        var e = Assert.Throws<ConfigException>(() => Bind<Area>("""{ "width": 2, "height": 3, "size": 6 }"""));

        Assert.Equal("size: unknown key 'size'. Allowed keys: width, height.", e.Message);
        Assert.Equal("{\n  \"width\": 2,\n  \"height\": 3\n}", StrictJson.Serialize(new Area(2, 3)));
    }

    internal static T Bind<T>(string json)
    {
        using var document = JsonDocument.Parse(json);
        return StrictJson.Bind<T>(document.RootElement);
    }
}
