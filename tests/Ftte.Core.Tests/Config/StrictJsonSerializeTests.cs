using Ftte.Core.Config;

namespace Ftte.Core.Tests.Config;

public sealed class StrictJsonSerializeTests
{
    [Fact]
    public void Serialize_Record_WritesCamelCaseKebabEnumsAndNulls()
    {
        string json = StrictJson.Serialize(new StrategyConfig(StrategyKind.FedBuff, 20));

        Assert.Equal("{\n  \"kind\": \"fed-buff\",\n  \"bufferSize\": 20,\n  \"concurrency\": null\n}", json);
    }

    [Fact]
    public void Serialize_ParsedDocument_ReparsesToTheSameText()
    {
        const string original = """
            { "seed": 18446744073709551615, "fleet": { "devices": 500, "participationRate": 0.1, "memoryBudget": "1.5MiB" },
              "strategies": [ { "kind": "fed-async", "concurrency": 3 }, { "kind": "mobile-net-v2" } ],
              "timeLimit": "2h", "profiles": { "z-last": { "gflops": 0.3333333333333333, "memory": 7 }, "a-first": { "gflops": 1e-7, "memory": "1KiB" } },
              "note": "quotes \" and ünïcode < > &", "checkpoints": [3, 1, 2] }
            """;

        string first = StrictJson.Serialize(StrictJson.Parse<SimConfig>(original, "original.json"));
        string second = StrictJson.Serialize(StrictJson.Parse<SimConfig>(first, "resolved.json"));

        Assert.Equal(first, second);
        Assert.Contains("\"z-last\"", first[..first.IndexOf("\"a-first\"", StringComparison.Ordinal)]);   // map order kept
        Assert.Contains("ünïcode < > &", first);
        Assert.Contains("\"timeLimit\": 7200", first);
        Assert.Contains("\"memoryBudget\": 1572864", first);
    }

    [Fact]
    public void Serialize_ThenParse_GivesEqualValues()
    {
        var options = new TrainerOptions { Name = "n", LearningRate = 0.1f, Fallback = StrategyKind.FedAvg, MaxSamples = ulong.MaxValue, Layers = [1, 2], Tags = ["x", null] };

        var back = StrictJson.Parse<TrainerOptions>(StrictJson.Serialize(options), "saved.json");

        Assert.Equal(
            (options.Name, options.LearningRate, options.Enabled, options.Fallback, options.MaxSamples, options.Bits),
            (back.Name, back.LearningRate, back.Enabled, back.Fallback, back.MaxSamples, back.Bits));
        Assert.Equal(options.Layers, back.Layers);
        Assert.Equal(options.Tags, back.Tags);
    }

    [Fact]
    public void Serialize_DoublesNeedingAllDigits_RoundTripExactly()
    {
        var fleet = new FleetConfig(1, 1.0 / 3) { MemoryBudget = long.MaxValue };

        var back = StrictJson.Parse<FleetConfig>(StrictJson.Serialize(fleet), "f.json");

        Assert.Equal(fleet, back);
    }
}
