using Ftte.Engine.Models;

namespace Ftte.Engine.Tests.Models;

public class TrainableSetTests
{
    [Theory]
    [InlineData("all", 8)]
    [InlineData("bias", 4)]
    [InlineData("last:2", 4)]
    [InlineData("conv2", 2)]
    [InlineData("conv2=bias", 1)]
    [InlineData("conv2.weight=1/4", 1)]
    public void Parse_Forms_SelectExpectedTensors(string text, int trainedTensors)
    {
        var model = BuiltInModels.LeNet();

        var resolved = TrainableSet.Parse(model, text).Resolve(model);

        Assert.Equal(trainedTensors, resolved.Count(s => s is not null));
    }

    [Theory]
    [InlineData(0.125, 2)]
    [InlineData(0.25, 4)]
    [InlineData(0.5, 8)]
    [InlineData(1.0, 16)]
    public void Ratio_SelectsFirstCeilChannels(double ratio, int channels)
    {
        var model = BuiltInModels.LeNet();
        var set = new TrainableSet(new Dictionary<string, TensorTraining> { ["conv2.weight"] = TensorTraining.OfRatio(ratio) });

        var s = set.Resolve(model)[model.IndexOf(model.Parameter("conv2.weight"))]!;

        Assert.Equal(channels, s.Count);
        Assert.True(s.IsContiguous);
        Assert.Equal(0, s.First);
    }

    [Theory]
    [InlineData("conv9", "is not a parameter, a layer")]
    [InlineData("conv2=half", "rule 'half'")]
    [InlineData("last:x", "last:K")]
    [InlineData("conv2.weight=c1;cx", "channel 'cx'")]
    public void Parse_Typo_ClearError(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => TrainableSet.Parse(BuiltInModels.LeNet(), text));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Resolve_ChannelOutOfRange_Refused()
    {
        var model = BuiltInModels.LeNet();

        Assert.Throws<ArgumentOutOfRangeException>(() => TrainableSet.Parse(model, "conv1.weight=c0;c8").Resolve(model));
    }
}
