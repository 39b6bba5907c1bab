using Ftte.Engine.Models;

namespace Ftte.Engine.Tests.Models;

/// <summary>Starting a model from saved weights (`ftte train --save` → `initialWeights`).</summary>
public sealed class ModelSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ftte-model-source-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void LoadParameters_replaces_every_weight_with_the_files()
    {
        var saved = BuiltInModels.LeNet(seed: 1);
        string path = Path.Combine(_dir, "lenet.fttp");
        File.WriteAllBytes(path, ParameterSerializer.Serialize(saved));
        var model = BuiltInModels.LeNet(seed: 2);
        Assert.False(saved.Weights.SequenceEqual(model.Weights));

        ModelSource.LoadParameters(model, path);

        Assert.True(saved.Weights.SequenceEqual(model.Weights));
    }

    [Fact]
    public void Another_models_file_is_refused_naming_both_and_the_weights_stay()
    {
        string path = Path.Combine(_dir, "mlp.fttp");
        File.WriteAllBytes(path, ParameterSerializer.Serialize(ModelSource.Load("mlp", 1, new Shape([784]), 10)));
        var model = BuiltInModels.LeNet(seed: 2);
        var before = model.Weights.ToArray();

        var e = Assert.Throws<FormatException>(() => ModelSource.LoadParameters(model, path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(model.Name, e.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Weights.ToArray());
    }

    [Fact]
    public void A_subset_payload_is_not_a_whole_models_weights()
    {
        var saved = BuiltInModels.LeNet(seed: 1);
        string path = Path.Combine(_dir, "fc2.fttp");
        File.WriteAllBytes(path, ParameterSerializer.Serialize(saved, TrainableSet.Parse(saved, "fc2")));
        var model = BuiltInModels.LeNet(seed: 2);
        var before = model.Weights.ToArray();

        Assert.Throws<FormatException>(() => ModelSource.LoadParameters(model, path));
        Assert.Equal(before, model.Weights.ToArray());
    }

    [Fact]
    public void A_diverged_models_weights_are_refused_and_the_weights_stay()
    {
        var diverged = BuiltInModels.LeNet(seed: 1);
        diverged.Parameter("fc2.weight").Data[3] = float.NaN;
        string path = Path.Combine(_dir, "nan.fttp");
        File.WriteAllBytes(path, ParameterSerializer.Serialize(diverged));
        var model = BuiltInModels.LeNet(seed: 2);
        var before = model.Weights.ToArray();

        var e = Assert.Throws<FormatException>(() => ModelSource.LoadParameters(model, path));

        Assert.Contains("fc2.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("diverged", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Weights.ToArray());
    }

    [Fact]
    public void A_missing_file_says_how_to_write_one()
    {
        string path = Path.Combine(_dir, "none.fttp");
        var e = Assert.Throws<FileNotFoundException>(() => ModelSource.LoadParameters(BuiltInModels.LeNet(seed: 1), path));
        Assert.Contains("ftte train", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
