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

    /// <summary>An experiment without initial weights, and the same model from another seed saved for one with them.</summary>
    private (Experiment Plain, Model Pretrained, string Path) SavePretrained()
    {
        var plain = Experiment.Build(Config(null));
        var pretrained = ModelSource.Load("mlp", 99, new Shape([.. plain.Data.Train.SampleShape]), plain.Data.Train.ClassCount);
        string path = Path.Combine(_dir, "mlp.fttp");
        File.WriteAllBytes(path, ParameterSerializer.Serialize(pretrained));
        return (plain, pretrained, path);
    }

    [Fact]
    public void The_experiment_starts_from_the_files_weights_and_the_report_names_them()
    {
        var (plain, pretrained, path) = SavePretrained();

        var experiment = Experiment.Build(Config(path));

        Assert.True(pretrained.Weights.SequenceEqual(experiment.Model.Weights));
        Assert.False(plain.Model.Weights.SequenceEqual(experiment.Model.Weights));
        string model = experiment.Combine([]).Setup.Single(e => e.Key == "model").Value;
        string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)))[..16];
        Assert.Contains($"starting from {path} (SHA-256 {sha}…)", model, StringComparison.Ordinal);
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
        Assert.Contains("ftte train --model mlp --dataset digits --save", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<ConfigException>(() => Experiment.Build(Config(_dir)));
        Assert.Contains("is a directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_scaling_run_starts_from_the_weights_read_once_even_when_the_file_is_gone()
    {
        var (_, _, path) = SavePretrained();
        var config = Config(path) with { Scaling = new ScalingConfig { Devices = [2, 4] } };
        var experiment = Experiment.Build(config);
        File.Delete(path);

        var points = experiment.RunScaling([]);

        Assert.Equal(2, points.Count);
        // A new build would read the file again, and now fails: the scaling run's 2-device fleet did not read it.
        Assert.Throws<ConfigException>(() => Experiment.Build(config));
    }
}
