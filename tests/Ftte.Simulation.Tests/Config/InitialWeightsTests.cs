using Ftte.Core.Config;
using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Federation.Config;
using Ftte.Simulation.Config;

namespace Ftte.Simulation.Tests.Config;

/// <summary>`initialWeights`: every strategy of an experiment starts from a saved model instead of the seed's.</summary>
public sealed class InitialWeightsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ftte-initial-weights-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SimulationConfig Config(string? weights) => StrictJson.Parse<SimulationConfig>("""
        {
          "model": "mlp", "data": { "dataset": "digits" }, "fleet": { "preset": "uniform", "devices": 4 },
          "run": { "maxTime": 2, "evalEvery": 1, "workers": 1 },
          "strategies": [ { "kind": "fedbuff", "concurrency": 2, "bufferSize": 2 } ]
        }
        """, "test.json") with { InitialWeights = weights };

    [Fact]
    public void The_experiment_starts_from_the_files_weights_and_the_report_names_them()
    {
        var plain = Experiment.Build(Config(null));
        var pretrained = ModelSource.Load("mlp", 99, new Shape([.. plain.Data.Train.SampleShape]), plain.Data.Train.ClassCount);
        string path = Path.Combine(_dir, "mlp.fttp");
        File.WriteAllBytes(path, ParameterSerializer.Serialize(pretrained));

        var experiment = Experiment.Build(Config(path));

        Assert.True(pretrained.Weights.SequenceEqual(experiment.Model.Weights));
        Assert.False(plain.Model.Weights.SequenceEqual(experiment.Model.Weights));
        string model = experiment.Combine([]).Setup.Single(e => e.Key == "model").Value;
        Assert.Contains($"starting from {path} (SHA-256 {InitialWeightsFile.Fingerprint(path)}", model, StringComparison.Ordinal);
        Assert.Contains("random initialisation (seed 1)", plain.Combine([]).Setup.Single(e => e.Key == "model").Value, StringComparison.Ordinal);
        // The same file gives the same run: version 0 is evaluated from the file's weights.
        var first = experiment.Run().Runs.Single().Points[0];
        var again = Experiment.Build(Config(path)).Run().Runs.Single().Points[0];
        Assert.Equal(first.TestAccuracy, again.TestAccuracy);
        Assert.NotEqual(plain.Run().Runs.Single().Points[0].TestAccuracy, first.TestAccuracy);
    }

    [Fact]
    public void Another_models_file_is_a_config_error_at_initialWeights()
    {
        string path = Path.Combine(_dir, "lenet.fttp");
        File.WriteAllBytes(path, ParameterSerializer.Serialize(BuiltInModels.LeNet(seed: 1)));

        var e = Assert.Throws<ConfigException>(() => Experiment.Build(Config(path)));
        Assert.Contains("initialWeights", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ConfigException>(() => Experiment.Build(Config(Path.Combine(_dir, "missing.fttp"))));
        Assert.Contains("ftte train", e.Message, StringComparison.Ordinal);
    }
}
