using Ftte.Core.Config;

namespace Ftte.Core.Tests.Config;

public sealed class StrictJsonErrorTests
{
    private const string Source = "config.json";

    /// <summary>A valid document with one strategy replaced: strategies[1] is the one under test.</summary>
    private static string WithStrategy(string strategy) =>
        $$"""{ "seed": 1, "fleet": { "devices": 2 }, "strategies": [ { "kind": "fed-avg" }, {{strategy}} ] }""";

    private static string WithFleet(string fleet) => $$"""{ "seed": 1, "fleet": {{fleet}}, "strategies": [] }""";

    private static ConfigException Fails(string json) => Assert.Throws<ConfigException>(() => StrictJson.Parse<SimConfig>(json, Source));

    private static ConfigException FailsBinding<T>(string json) => Assert.Throws<ConfigException>(() => StrictJsonBindTests.Bind<T>(json));

    [Fact]
    public void Parse_MisspelledKey_NamesPathSuggestsAndListsAllowedKeys()
    {
        var e = Fails(WithStrategy("""{ "kind": "fed-buff", "bufersize": 3 }"""));

        Assert.Equal("config.json: strategies[1].bufersize: unknown key 'bufersize'; did you mean 'bufferSize'? Allowed keys: kind, bufferSize, concurrency.", e.Message);
        Assert.Equal("strategies[1].bufersize", e.Path);
        Assert.Equal(Source, e.Source);
    }

    [Fact]
    public void Parse_KeyInWrongCase_SuggestsCamelCase()
    {
        var e = Fails(WithStrategy("""{ "kind": "fed-buff", "BufferSize": 3 }"""));

        Assert.Equal("strategies[1].BufferSize", e.Path);
        Assert.Contains("did you mean 'bufferSize'?", e.Message);
    }

    [Fact]
    public void Parse_UnknownKeyFarFromAny_ListsAllowedKeysWithoutSuggestion()
    {
        var e = Fails(WithStrategy("""{ "kind": "fed-buff", "zzzzzz": 3 }"""));

        Assert.Equal("config.json: strategies[1].zzzzzz: unknown key 'zzzzzz'. Allowed keys: kind, bufferSize, concurrency.", e.Message);
    }

    [Fact]
    public void Parse_IntegerBelowRange_SaysBound()
    {
        var e = Fails(WithStrategy("""{ "kind": "fed-buff", "bufferSize": 0 }"""));

        Assert.Equal("config.json: strategies[1].bufferSize: expected an integer ≥ 1, got 0.", e.Message);
        Assert.Equal("strategies[1].bufferSize", e.Path);
    }

    [Fact]
    public void Parse_StringForInteger_SaysExpectedType()
    {
        var e = Fails(WithFleet("""{ "devices": "abc" }"""));

        Assert.Equal("config.json: fleet.devices: expected an integer ≥ 1, got string \"abc\".", e.Message);
    }

    [Fact]
    public void Parse_FractionForInteger_Rejected()
    {
        var e = Fails(WithFleet("""{ "devices": 2.5 }"""));

        Assert.Equal("config.json: fleet.devices: expected an integer, got 2.5.", e.Message);
    }

    [Theory]
    [InlineData("fleet", """{ "devices": 3000000000 }""", "fleet.devices: expected an integer between -2147483648 and 2147483647, got 3000000000.")]
    [InlineData("fleet", """{ "devices": 1e40 }""", "fleet.devices: expected an integer between -2147483648 and 2147483647, got 1e40.")]
    public void Parse_IntegerOutsideType_SaysTypeRange(string _, string fleet, string expected)
    {
        var e = Fails(WithFleet(fleet));

        Assert.Equal("config.json: " + expected, e.Message);
    }

    [Theory]
    [InlineData("""{ "name": "t", "maxSamples": -1 }""", "maxSamples: expected an integer between 0 and 18446744073709551615, got -1.")]
    [InlineData("""{ "name": "t", "bits": 256 }""", "bits: expected an integer between 0 and 255, got 256.")]
    [InlineData("""{ "name": "t", "learningRate": 1e39 }""", "learningRate: expected a number within the range of float, got 1e39.")]
    [InlineData("""{ "name": "t", "enabled": "yes" }""", "enabled: expected true or false, got string \"yes\".")]
    [InlineData("""{ "name": 5 }""", "name: expected a string, got 5.")]
    [InlineData("""{ "name": "t", "layers": [1, "x"] }""", "layers[1]: expected an integer, got string \"x\".")]
    [InlineData("""{ "name": "t", "layers": {} }""", "layers: expected a list, got an object.")]
    [InlineData("""{ "name": "t", "layers": null }""", "layers: expected a list, got null.")]
    [InlineData("""{ "learningRate": 0.1 }""", "name: required key is missing (expected a string).")]
    [InlineData("""{ "name": "t", "name": "u" }""", "name: duplicate key.")]
    public void Bind_TrainerOptionsMistake_ExactMessage(string json, string expected)
    {
        var e = FailsBinding<TrainerOptions>(json);

        Assert.Equal(expected, e.Message);
        Assert.Null(e.Source);
    }

    [Fact]
    public void Parse_NumberOutsideConfigRange_SaysBetween()
    {
        var e = Fails(WithFleet("""{ "devices": 2, "participationRate": 1.5 }"""));

        Assert.Equal("config.json: fleet.participationRate: expected a number between 0 and 1, got 1.5.", e.Message);
    }

    [Fact]
    public void Parse_UnknownEnumValue_ListsKebabValuesAndSuggests()
    {
        var e = Fails(WithStrategy("""{ "kind": "fedbuf" }"""));

        Assert.Equal(
            "config.json: strategies[1].kind: expected one of 'fed-avg', 'fed-buff', 'fed-async', 'mobile-net-v2', got string \"fedbuf\"; did you mean 'fed-buff'?",
            e.Message);
    }

    [Fact]
    public void Parse_EnumAsNumber_Rejected()
    {
        var e = Fails(WithStrategy("""{ "kind": 1 }"""));

        Assert.Equal("config.json: strategies[1].kind: expected one of 'fed-avg', 'fed-buff', 'fed-async', 'mobile-net-v2', got 1.", e.Message);
    }

    [Fact]
    public void Parse_StringNotAllowed_ListsAllowedAndSuggests()
    {
        var e = Fails(WithFleet("""{ "devices": 2, "partition": "Uniform" }"""));

        Assert.Equal("config.json: fleet.partition: expected one of 'uniform', 'dirichlet', got string \"Uniform\"; did you mean 'uniform'?", e.Message);
    }

    [Fact]
    public void Parse_MissingRequiredParameter_NamesKey()
    {
        var e = Fails(WithFleet("""{ "participationRate": 0.5 }"""));

        Assert.Equal("config.json: fleet.devices: required key is missing (expected an integer ≥ 1).", e.Message);
        Assert.Equal("fleet.devices", e.Path);
    }

    [Fact]
    public void Parse_MissingRequiredList_NamesKey()
    {
        var e = Fails("""{ "seed": 1, "fleet": { "devices": 2 } }""");

        Assert.Equal("config.json: strategies: required key is missing (expected a list).", e.Message);
    }

    [Fact]
    public void Parse_NullForObject_Rejected()
    {
        var e = Fails(WithFleet("null"));

        Assert.Equal("config.json: fleet: expected an object, got null.", e.Message);
    }

    [Fact]
    public void Parse_DocumentNotAnObject_PathIsRoot()
    {
        var e = Fails("[1, 2]");

        Assert.Equal("config.json: $: expected an object, got a list.", e.Message);
        Assert.Equal("$", e.Path);
    }

    [Fact]
    public void Parse_BadByteSize_ShowsAcceptedForms()
    {
        var e = Fails(WithFleet("""{ "devices": 2, "memoryBudget": "2 MiBs" }"""));

        Assert.Equal(
            "config.json: fleet.memoryBudget: expected a byte size (a number of bytes, or a string such as \"256KiB\" or \"1.5MiB\"), got string \"2 MiBs\".",
            e.Message);
    }

    [Fact]
    public void Parse_BadDuration_ShowsAcceptedForms()
    {
        var e = Fails("""{ "seed": 1, "fleet": { "devices": 2 }, "strategies": [], "timeLimit": "soon" }""");

        Assert.Equal(
            "config.json: timeLimit: expected a duration ≥ 0 (seconds, or a string such as \"90s\", \"15min\" or \"2h\"), got string \"soon\".",
            e.Message);
    }

    [Fact]
    public void Parse_DuplicateKey_Rejected()
    {
        var e = Fails(WithFleet("""{ "devices": 2, "devices": 3 }"""));

        Assert.Equal("config.json: fleet.devices: duplicate key.", e.Message);
    }

    [Fact]
    public void Parse_SyntaxError_GivesLineAndColumn()
    {
        var e = Fails("{\n  \"seed\": 1,\n  \"fleet\": }\n");

        Assert.Equal(3, e.Line);
        Assert.Equal(12, e.Column);
        Assert.Null(e.Path);
        Assert.StartsWith("config.json: line 3, column 12: invalid JSON: ", e.Message);
        Assert.DoesNotContain("LineNumber", e.Message);
    }

    [Fact]
    public void Parse_EmptyText_IsSyntaxError()
    {
        var e = Fails("");

        Assert.StartsWith("config.json: line 1, column 1: invalid JSON", e.Message);
    }

    [Fact]
    public void Bind_ValidatorRejects_ExceptionCarriesItsPath()
    {
        var e = FailsBinding<NestedLimits>("""{ "outer": { "min": 0, "max": 9 }, "inner": [ { "min": 1, "max": 2 }, { "min": 5, "max": 4 } ] }""");

        Assert.Equal("inner[1].min: must be ≤ max (4), got 5.", e.Message);
    }

    [Fact]
    public void Parse_ValidatorInMapEntry_PathQuotesKeysThatAreNotIdentifiers()
    {
        var e = Fails("""{ "seed": 1, "fleet": { "devices": 2 }, "strategies": [], "profiles": { "my phone": { "gflops": 0, "memory": 1 } } }""");

        Assert.Equal("profiles[\"my phone\"].gflops", e.Path);
        Assert.Equal("config.json: profiles[\"my phone\"].gflops: must be > 0, got 0.", e.Message);
    }

    [Fact]
    public void Bind_ConstructorThrowsArgumentException_BecomesConfigExceptionAtObject()
    {
        var e = FailsBinding<NestedLimitsHolder>("""{ "checkedItem": { "size": -1 } }""");

        Assert.Equal("checkedItem", e.Path);
        Assert.Contains("Size must be non-negative", e.Detail);
        Assert.IsType<ArgumentOutOfRangeException>(e.InnerException);
    }

    public sealed record NestedLimitsHolder(CheckedInConstructor CheckedItem);
}
