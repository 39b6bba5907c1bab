using Ftte.Core.Config;
using Ftte.Simulation.Config;

namespace Ftte.Simulation.Tests.Config;

/// <summary>The compression block: codec names, tiers and strategy labels are checked at start, naming the key and what is allowed.</summary>
public class CompressionConfigTests
{
    private static SimulationConfig Parse(string json) => StrictJson.Parse<SimulationConfig>(json, "test.json");

    private static ConfigException Error(string json) => Assert.Throws<ConfigException>(() => Parse(json));

    [Fact]
    public void AbsentCompression_IsNull_SoUpdatesTravelUncompressed()
    {
        Assert.Null(Parse("{}").Compression);
    }

    [Fact]
    public void CodecTiersAndStrategies_AreBound()
    {
        var config = Parse("""
        {
          "strategies": [ { "kind": "fedbuff" }, { "kind": "fedbuff", "name": "small", "bufferSize": 2 } ],
          "compression": { "codec": "q8", "tiers": { "sensor": "q4" }, "strategies": { "small": "topk:0.01" } }
        }
        """);

        var compression = config.Compression!;
        Assert.Equal("q8; sensor: q4", compression.PolicyFor("fedbuff").ToString());
        Assert.Equal("topk:0.01; sensor: q4", compression.PolicyFor("small").ToString());
    }

    [Theory]
    [InlineData("""{ "compression": { "codec": "q16" } }""", "compression.codec")]
    [InlineData("""{ "compression": { "tiers": { "sensor": "int8" } } }""", "compression.tiers.sensor")]
    [InlineData("""{ "compression": { "strategies": { "fedbuff": "fp16" } } }""", "compression.strategies.fedbuff")]
    public void UnknownCodecNames_AreRefused_ListingTheAllowedOnes(string json, string path)
    {
        var e = Error(json);

        Assert.Equal(path, e.Path);
        Assert.Contains("unknown codec", e.Message, StringComparison.Ordinal);
        foreach (string name in new[] { "float32", "float16", "q8", "q4", "q2", "topk:R" })
            Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadTopKRatio_IsRefused()
    {
        var e = Error("""{ "compression": { "codec": "topk:2" } }""");
        Assert.Equal("compression.codec", e.Path);
        Assert.Contains("0 < R ≤ 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AStrategyLabelThatIsNotConfigured_IsRefused()
    {
        var e = Error("""{ "strategies": [ { "kind": "fedbuff" } ], "compression": { "strategies": { "FTTE, q8": "q8" } } }""");
        Assert.Equal("compression.strategies[\"FTTE, q8\"]", e.Path);
        Assert.Contains("fedbuff", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownKey_InCompression_IsRefused()
    {
        Assert.Equal("compression.codecs", Error("""{ "compression": { "codecs": "q8" } }""").Path);
    }

    [Fact]
    public void ATierTheFleetDoesNotHave_IsRefusedWhenTheExperimentIsBuilt()
    {
        var config = Parse("""
        {
          "model": "mlp", "data": { "dataset": "digits" }, "fleet": { "preset": "tiers4", "devices": 8 },
          "compression": { "codec": "q8", "tiers": { "sensr": "q4" } }
        }
        """);

        var e = Assert.Throws<ConfigException>(() => Experiment.Build(config));

        Assert.Equal("compression.tiers.sensr", e.Path);
        Assert.Contains("sensor", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CodecsPreset_RunsFtteOncePerCodec_AndRoundTrips()
    {
        var preset = SimulationPresets.Get("paper-fmnist-codecs");
        string text = StrictJson.Serialize(preset);
        var parsed = Parse(text);

        Assert.Equal(text, StrictJson.Serialize(parsed));
        Assert.Equal(SimulationPresets.ComparedCodecs.Count, parsed.Strategies.Count);
        Assert.All(parsed.Strategies, s => Assert.Equal(Ftte.Federation.Config.StrategyKind.Ftte, s.Kind));
        foreach (string codec in SimulationPresets.ComparedCodecs)
            Assert.Equal(codec, parsed.Compression!.PolicyFor($"FTTE, {codec}").Codec.Name);
        // The FTTE settings are paper-fmnist's, only the labels differ.
        var paperFtte = SimulationPresets.Get("paper-fmnist").Strategies[0];
        Assert.All(parsed.Strategies, s => Assert.Equal(paperFtte with { Name = s.Name }, s));
        Assert.Equal("FTTE, float32", parsed.Reference);
    }

    [Fact]
    public void TheReportSetup_NamesTheCodec_AndEachRunStrategysOwn()
    {
        var config = Parse("""
        {
          "model": "mlp", "data": { "dataset": "digits" }, "fleet": { "preset": "uniform", "devices": 6 },
          "run": { "maxTime": 5, "evalEvery": 5, "workers": 1 },
          "strategies": [ { "kind": "fedbuff", "name": "a", "concurrency": 3, "bufferSize": 2 }, { "kind": "fedbuff", "name": "b", "concurrency": 3, "bufferSize": 2 } ],
          "compression": { "codec": "q8", "strategies": { "b": "topk:0.1" } }
        }
        """);
        var experiment = Experiment.Build(config);

        var both = experiment.Run().Setup.ToDictionary(e => e.Key, e => e.Value);
        var onlyA = experiment.Run([config.Strategies[0]]).Setup.ToDictionary(e => e.Key, e => e.Value);

        Assert.Equal("q8", both["update codec"]);
        Assert.Equal("topk:0.1", both["update codec of b"]);
        Assert.False(onlyA.ContainsKey("update codec of b"));
        Assert.StartsWith("none", Experiment.Build(config with { Compression = null }).Combine([]).Setup.Single(e => e.Key == "update codec").Value, StringComparison.Ordinal);
    }
}
