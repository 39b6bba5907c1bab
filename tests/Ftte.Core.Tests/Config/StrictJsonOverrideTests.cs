using System.Text.Json.Nodes;
using Ftte.Core.Config;

namespace Ftte.Core.Tests.Config;

public sealed class StrictJsonOverrideTests
{
    private const string Base = """{ "seed": 1, "fleet": { "devices": 2 }, "strategies": [ { "kind": "fed-avg" }, { "kind": "fed-buff" } ] }""";

    private static JsonNode Root(string json = Base) => JsonNode.Parse(json)!;

    [Fact]
    public void ApplyOverride_NumberAtDottedPath_ReplacesValue()
    {
        var root = Root();

        StrictJson.ApplyOverride(root, "fleet.devices", "500");

        Assert.Equal(500, root["fleet"]!["devices"]!.GetValue<int>());
    }

    [Fact]
    public void ApplyOverride_Assignment_PatchesListItem()
    {
        var root = Root();

        StrictJson.ApplyOverride(root, "strategies[1].concurrency=20");

        Assert.Equal("""{"kind":"fed-buff","concurrency":20}""", root["strategies"]![1]!.ToJsonString());
    }

    [Theory]
    [InlineData("true", """{"x":true}""")]
    [InlineData("2.5", """{"x":2.5}""")]
    [InlineData("fed-buff", """{"x":"fed-buff"}""")]
    [InlineData("\"42\"", """{"x":"42"}""")]
    [InlineData("{\"a\": [1]}", """{"x":{"a":[1]}}""")]
    [InlineData("null", """{"x":null}""")]
    [InlineData("", """{"x":""}""")]
    [InlineData("2MiB", """{"x":"2MiB"}""")]
    public void ApplyOverride_Value_ParsedAsJsonElseString(string value, string expected)
    {
        var root = Root("{}");

        StrictJson.ApplyOverride(root, "x", value);

        Assert.Equal(expected, root.ToJsonString());
    }

    [Fact]
    public void ApplyOverride_MissingObjects_Created()
    {
        var root = Root("{}");

        StrictJson.ApplyOverride(root, "fleet.limits.max=5");

        Assert.Equal("""{"fleet":{"limits":{"max":5}}}""", root.ToJsonString());
    }

    [Fact]
    public void ApplyOverride_IndexOnePastEnd_Appends()
    {
        var root = Root();

        StrictJson.ApplyOverride(root, "strategies[2].kind=fed-async");

        Assert.Equal(3, root["strategies"]!.AsArray().Count);
        Assert.Equal("fed-async", root["strategies"]![2]!["kind"]!.GetValue<string>());
    }

    [Fact]
    public void ApplyOverride_IndexPastEnd_NamesPathAndNextIndex()
    {
        var e = Assert.Throws<ConfigException>(() => StrictJson.ApplyOverride(Root(), "strategies[5].kind=fed-avg"));

        Assert.Equal("strategies[5]", e.Path);
        Assert.Equal("override 'strategies[5].kind=fed-avg': strategies[5]: index 5 is past the end of the list (2 items); the next item is [2].", e.Message);
    }

    [Fact]
    public void ApplyOverride_KeyInsideNumber_Rejected()
    {
        var e = Assert.Throws<ConfigException>(() => StrictJson.ApplyOverride(Root(), "fleet.devices.max=1"));

        Assert.Equal("override 'fleet.devices.max=1': fleet.devices: cannot set 'max' in the value 2; only objects have keys.", e.Message);
    }

    [Theory]
    [InlineData("fleet.devices")]
    [InlineData("fleet..devices=1")]
    [InlineData("strategies[x].kind=a")]
    [InlineData("=1")]
    [InlineData("fleet.=1")]
    public void ApplyOverride_MalformedAssignment_Rejected(string assignment)
    {
        var e = Assert.Throws<ConfigException>(() => StrictJson.ApplyOverride(Root(), assignment));

        Assert.StartsWith($"override '{assignment}': ", e.Message);
    }

    [Fact]
    public void Parse_WithOverrides_AppliesThemInOrderBeforeBinding()
    {
        var config = StrictJson.Parse<SimConfig>(Base, "config.json", ["fleet.devices=500", "strategies[0].kind=fed-buff", "strategies[0].bufferSize=3", "fleet.devices=600"]);

        Assert.Equal(600, config.Fleet.Devices);
        Assert.Equal(new StrategyConfig(StrategyKind.FedBuff, 3), config.Strategies[0]);
    }

    [Fact]
    public void Parse_OverrideWithUnknownKey_CaughtByBinding()
    {
        var e = Assert.Throws<ConfigException>(() => StrictJson.Parse<SimConfig>(Base, "config.json", ["fleet.devicez=5"]));

        Assert.Equal("fleet.devicez", e.Path);
        Assert.StartsWith("config.json (with overrides): fleet.devicez: unknown key 'devicez'; did you mean 'devices'?", e.Message);
    }

    [Fact]
    public void Parse_OverrideWithBadValue_CaughtByBinding()
    {
        var e = Assert.Throws<ConfigException>(() => StrictJson.Parse<SimConfig>(Base, "config.json", ["strategies[1].bufferSize=0"]));

        Assert.Equal("config.json (with overrides): strategies[1].bufferSize: expected an integer ≥ 1, got 0.", e.Message);
    }

    [Fact]
    public void Parse_DuplicateKeyWithOverrides_StillRejected()
    {
        var e = Assert.Throws<ConfigException>(() =>
            StrictJson.Parse<SimConfig>("""{ "seed": 1, "seed": 2, "fleet": { "devices": 2 }, "strategies": [] }""", "config.json", ["seed=3"]));

        Assert.Equal("config.json: seed: duplicate key.", e.Message);
    }
}
