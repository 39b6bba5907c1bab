using Ftte.Core.Config;
using Ftte.Federation.Config;
using Ftte.Federation.Strategies;

namespace Ftte.Federation.Tests.Config;

public sealed class PrivacyConfigTests
{
    private static StrategyConfig Parse(string json) => StrictJson.Parse<StrategyConfig>(json, "test");

    [Fact]
    public void FedBuffWithPrivacy_BuildsADpStrategy()
    {
        var config = Parse("""{ "kind": "fedbuff", "bufferSize": 4, "privacy": { "noiseMultiplier": 1.1, "clipNorm": 0.5, "maxEpsilon": 8 } }""");
        var strategy = Assert.IsType<FedBuff>(config.Create(LocalTraining.Default, ignoreMemory: false, seed: 1));
        Assert.Equal(1.1, strategy.Options.Privacy!.NoiseMultiplier);
        Assert.Equal(4, strategy.Options.Privacy.BufferSize);
        Assert.Equal(8, strategy.Options.Privacy.MaxEpsilon);
    }

    [Fact]
    public void PrivacyOnFedAvg_IsRefused_NamingTheKey()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("""{ "kind": "fedavg", "privacy": {} }"""));
        Assert.Contains("'privacy' does not apply to fedavg", e.Message);
    }

    [Fact]
    public void FtteWithPrivacy_RefusesTheVarianceWeight_AndDefaultsToAge()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("""{ "kind": "ftte", "weighting": "age-and-variance", "privacy": {} }"""));
        Assert.Contains("weighting", e.Message);
        var ftte = Assert.IsType<FtteStrategy>(Parse("""{ "kind": "ftte", "trainable": "all", "privacy": {} }""").Create(LocalTraining.Default, false, 1));
        Assert.Equal(FtteWeighting.Age, ftte.Options.Weighting);
    }

    [Fact]
    public void BadPrivacyValues_NameTheKey()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("""{ "kind": "fedbuff", "privacy": { "noiseMultiplier": 0 } }"""));
        Assert.Contains("noiseMultiplier", e.Message);
        e = Assert.Throws<ConfigException>(() => Parse("""{ "kind": "fedbuff", "privacy": { "epsilon": 8 } }"""));
        Assert.Contains("epsilon", e.Message);
    }

    [Fact]
    public void AdaptiveClipping_WithANoiseMultiplierItsCountNoiseCannotCover_IsRefusedAtParse_NamingTheKey()
    {
        // σ_b = K/20 = 0.5 leaves nothing for the sum when z ≥ 2σ_b = 1 (Andrew et al. 2021's split of z).
        var e = Assert.Throws<ConfigException>(() => Parse("""{ "kind": "ftte", "bufferSize": 10, "privacy": { "noiseMultiplier": 2.86, "adaptiveQuantile": 0.5 } }"""));
        Assert.Contains("privacy.adaptiveQuantile", e.Message);
        Assert.Contains("bufferSize > 28", e.Message);
        Parse("""{ "kind": "ftte", "bufferSize": 29, "privacy": { "noiseMultiplier": 2.86, "adaptiveQuantile": 0.5 } }""");
        Parse("""{ "kind": "ftte", "bufferSize": 10, "privacy": { "noiseMultiplier": 0.77, "adaptiveQuantile": 0.5 } }""");
    }
}
