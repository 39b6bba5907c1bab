using Ftte.Core.Config;

namespace Ftte.Core.Tests.Config;

public sealed class StrictJsonDescribeTests
{
    private static ConfigKeyInfo Row(string path) => Assert.Single(StrictJson.Describe<SimConfig>(), r => r.Path == path);

    [Fact]
    public void Describe_NestedType_ListsEveryKeyInMemberOrder()
    {
        var paths = StrictJson.Describe<SimConfig>().Select(r => r.Path);

        Assert.Equal(
        [
            "seed", "fleet", "fleet.devices", "fleet.participationRate", "fleet.memoryBudget", "fleet.partition",
            "strategies", "strategies[].kind", "strategies[].bufferSize", "strategies[].concurrency",
            "rounds", "timeLimit", "profiles", "profiles.<name>.gflops", "profiles.<name>.memory", "note", "checkpoints",
        ], paths);
    }

    [Fact]
    public void Describe_RequiredEnumInList_HasAllowedValuesAndDoc()
    {
        var row = Row("strategies[].kind");

        Assert.Equal(("enum", true, null, null, "Aggregation strategy."), (row.Type, row.Required, row.Default, row.Range, row.Doc));
        Assert.Equal(["fed-avg", "fed-buff", "fed-async", "mobile-net-v2"], row.AllowedValues);
    }

    [Fact]
    public void Describe_InitialisedProperty_HasDefaultRangeAndDoc()
    {
        var row = Row("rounds");

        Assert.Equal("integer", row.Type);
        Assert.False(row.Required);
        Assert.Equal("100", row.Default);
        Assert.Equal("≥ 1", row.Range);
        Assert.Equal("Rounds to simulate.", row.Doc);
    }

    [Theory]
    [InlineData("seed", "integer", true, null, null)]
    [InlineData("fleet", "object", true, null, null)]
    [InlineData("fleet.devices", "integer", true, null, "≥ 1")]
    [InlineData("fleet.participationRate", "number", false, "0.1", "between 0 and 1")]
    [InlineData("fleet.memoryBudget", "byte size", false, "2097152", null)]
    [InlineData("fleet.partition", "string", false, "\"uniform\"", null)]
    [InlineData("strategies", "list of object", true, null, null)]
    [InlineData("strategies[].bufferSize", "integer", false, "10", "≥ 1")]
    [InlineData("strategies[].concurrency", "integer or null", false, "null", null)]
    [InlineData("timeLimit", "duration", false, "3600", "≥ 0")]
    [InlineData("profiles", "map of object", false, "{}", null)]
    [InlineData("profiles.<name>.memory", "byte size", true, null, null)]
    [InlineData("note", "string or null", false, "null", null)]
    [InlineData("checkpoints", "list of integer", false, "[]", null)]
    public void Describe_Key_HasTypeRequiredDefaultAndRange(string path, string type, bool required, string? @default, string? range)
    {
        var row = Row(path);

        Assert.Equal((type, required, @default, range), (row.Type, row.Required, row.Default, row.Range));
    }

    [Fact]
    public void Describe_AllowedStrings_Listed()
    {
        Assert.Equal(["uniform", "dirichlet"], Row("fleet.partition").AllowedValues);
    }

    [Fact]
    public void Describe_ClassWithRequiredProperty_MarksItRequired()
    {
        var rows = StrictJson.Describe<TrainerOptions>();

        Assert.True(rows.Single(r => r.Path == "name").Required);
        Assert.Equal("0.01", rows.Single(r => r.Path == "learningRate").Default);
        Assert.Equal("[64,32]", rows.Single(r => r.Path == "layers").Default);
        Assert.Equal("enum or null", rows.Single(r => r.Path == "fallback").Type);
    }
}
