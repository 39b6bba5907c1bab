using Ftte.Engine.Models;

namespace Ftte.Engine.Tests.Models;

public class ModelTests
{
    [Theory]
    [InlineData("mlp", 784 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10)]
    [InlineData("lenet", (8 * 9 + 8) + (16 * 8 * 9 + 16) + (16 * 7 * 7 * 64 + 64) + (64 * 10 + 10))]
    public void Create_BuiltIn_HasExpectedParameterCount(string name, int expected)
    {
        Assert.Equal(expected, BuiltInModels.Create(name).ParameterCount);
    }

    [Fact]
    public void MobileNetV2Tiny_HasDepthwiseAndResidualLayers()
    {
        var model = BuiltInModels.MobileNetV2Tiny();

        Assert.Contains(model.Layers, l => l is Layers.Conv2d c && c.Groups == c.InChannels && c.Groups > 1);
        Assert.Contains(model.Layers, l => l is Layers.Add);
        Assert.Equal(new Shape(10), model.OutputShape);
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("lenet")]
    [InlineData("mobilenetv2-tiny")]
    public void Describe_RoundTrip_GivesSameStructureAndWeights(string name)
    {
        var model = BuiltInModels.Create(name, seed: 9);

        var text = model.Describe().ToString();
        var rebuilt = ModelDescription.Build(ModelDescription.Parse(text), seed: 9);

        Assert.Equal(model.Parameters.Select(p => p.ToString()), rebuilt.Parameters.Select(p => p.ToString()));
        Assert.Equal(model.Weights.ToArray(), rebuilt.Weights.ToArray());
        Assert.Equal(text, rebuilt.Describe().ToString());
    }

    [Fact]
    public void Build_JsonDescription_MatchesCodeBuiltMlp()
    {
        const string json = """
            { "name": "mlp", "input": [784], "layers": [
              { "kind": "linear", "name": "fc1", "out": 128 }, { "kind": "relu" },
              { "kind": "linear", "name": "fc2", "out": 64 }, { "kind": "relu" },
              { "kind": "linear", "name": "fc3", "out": 10 } ] }
            """;

        var model = ModelDescription.Build(ModelDescription.Parse(json), seed: 5);

        Assert.Equal(BuiltInModels.Mlp(seed: 5).Weights.ToArray(), model.Weights.ToArray());
    }

    [Theory]
    [InlineData("{ \"name\": \"m\", \"input\": [4], \"layers\": [ { \"kind\": \"lineer\", \"out\": 2 } ] }", "unknown kind 'lineer'")]
    [InlineData("{ \"name\": \"m\", \"input\": [4], \"layers\": [ { \"kind\": \"linear\" } ] }", "needs \"out\"")]
    [InlineData("{ \"name\": \"m\", \"layers\": [] }", "needs \"input\"")]
    [InlineData("{ \"name\": \"m\", \"input\": [1,8,8], \"layers\": [ { \"kind\": \"linear\", \"out\": 2 } ] }", "flatten")]
    [InlineData("not json", "not valid JSON")]
    public void Build_BadDescription_ClearError(string json, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ModelDescription.Build(ModelDescription.Parse(json)));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Initialize_SameSeed_SameWeights_DifferentSeed_Different()
    {
        Assert.Equal(BuiltInModels.LeNet(seed: 1).Weights.ToArray(), BuiltInModels.LeNet(seed: 1).Weights.ToArray());
        Assert.NotEqual(BuiltInModels.LeNet(seed: 1).Weights.ToArray(), BuiltInModels.LeNet(seed: 2).Weights.ToArray());
    }

    [Fact]
    public void Parameter_Channel_IsRowOfOutputChannel()
    {
        var model = BuiltInModels.LeNet();
        var w = model.Parameter("conv2.weight");

        w.Channel(3).Fill(7f);

        Assert.Equal(8 * 9, w.ChannelSize);
        Assert.All(w.Data.Slice(3 * 72, 72).ToArray(), v => Assert.Equal(7f, v));
        Assert.NotEqual(7f, w.Data[2 * 72 + 71]);
    }
}
