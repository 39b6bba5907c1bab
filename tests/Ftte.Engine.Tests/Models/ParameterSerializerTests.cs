using Ftte.Engine.Models;

namespace Ftte.Engine.Tests.Models;

public class ParameterSerializerTests
{
    [Fact]
    public void RoundTrip_AllTensors_RestoresEveryWeight()
    {
        var source = BuiltInModels.LeNet(seed: 1);
        var target = BuiltInModels.LeNet(seed: 2);

        var bytes = ParameterSerializer.Serialize(source);
        int read = ParameterSerializer.Deserialize(target, bytes);

        Assert.Equal(source.Parameters.Count, read);
        Assert.Equal(source.Weights.ToArray(), target.Weights.ToArray());
        Assert.Equal(bytes.Length, ParameterSerializer.SerializedSize(source));
    }

    [Fact]
    public void RoundTrip_Subset_WritesOnlySelectedChannels()
    {
        var source = BuiltInModels.LeNet(seed: 1);
        var target = BuiltInModels.LeNet(seed: 2);
        var original = target.Weights.ToArray();
        var subset = TrainableSet.Parse(source, "conv2.weight=c1;c5,fc2");

        var bytes = ParameterSerializer.Serialize(source, subset);
        ParameterSerializer.Deserialize(target, bytes);

        var conv2 = target.Parameter("conv2.weight");
        Assert.Equal(source.Parameter("conv2.weight").Channel(5).ToArray(), conv2.Channel(5).ToArray());
        Assert.Equal(original.AsSpan(conv2.Offset + 2 * conv2.ChannelSize, conv2.ChannelSize).ToArray(), conv2.Channel(2).ToArray());
        Assert.Equal(source.Parameter("fc2.weight").Data.ToArray(), target.Parameter("fc2.weight").Data.ToArray());
        Assert.Equal(original.AsSpan(target.Parameter("fc1.weight").Offset, 100).ToArray(), target.Parameter("fc1.weight").Data[..100].ToArray());
        Assert.True(bytes.Length < ParameterSerializer.SerializedSize(source) / 10);
    }

    [Fact]
    public void Deserialize_Truncated_RejectedAndModelUntouched()
    {
        var source = BuiltInModels.Mlp(seed: 1);
        var target = BuiltInModels.Mlp(seed: 2);
        var before = target.Weights.ToArray();
        var bytes = ParameterSerializer.Serialize(source);

        var e = Assert.Throws<FormatException>(() => ParameterSerializer.Deserialize(target, bytes.AsSpan(0, bytes.Length - 3)));

        Assert.Contains("truncated", e.Message);
        Assert.Contains("offset", e.Message);
        Assert.Equal(before, target.Weights.ToArray());
    }

    [Fact]
    public void Deserialize_OtherModel_RejectedWithTensorName()
    {
        var bytes = ParameterSerializer.Serialize(BuiltInModels.Mlp());

        var e = Assert.Throws<FormatException>(() => ParameterSerializer.Deserialize(BuiltInModels.LeNet(), bytes));

        Assert.Contains("fc1.weight", e.Message);
    }

    [Fact]
    public void Deserialize_WrongMagicOrVersion_Rejected()
    {
        var bytes = ParameterSerializer.Serialize(BuiltInModels.Mlp());
        var foreign = (byte[])bytes.Clone();
        foreign[0] = (byte)'X';
        var future = (byte[])bytes.Clone();
        future[4] = 9;

        Assert.Contains("magic", Assert.Throws<FormatException>(() => ParameterSerializer.Deserialize(BuiltInModels.Mlp(), foreign)).Message);
        Assert.Contains("version 9", Assert.Throws<FormatException>(() => ParameterSerializer.Deserialize(BuiltInModels.Mlp(), future)).Message);
    }

    [Fact]
    public void Deserialize_TrailingBytes_Rejected()
    {
        var bytes = ParameterSerializer.Serialize(BuiltInModels.Mlp()).Concat(new byte[] { 1, 2 }).ToArray();

        Assert.Contains("trailing", Assert.Throws<FormatException>(() => ParameterSerializer.Deserialize(BuiltInModels.Mlp(), bytes)).Message);
    }
}
