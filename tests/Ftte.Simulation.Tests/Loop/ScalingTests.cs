using Ftte.Core.Config;
using Ftte.Simulation.Config;

namespace Ftte.Simulation.Tests.Loop;

public class ScalingTests
{
    private const string Json = """
        {
          "name": "scale", "seed": 3, "model": "mlp",
          "data": { "dataset": "digits", "partition": "iid", "validationFraction": 0 },
          "fleet": { "preset": "uniform", "devices": 8 },
          "local": { "batch": 16, "learningRate": 0.1 },
          "run": { "maxTime": 30, "targetAccuracy": 0.5, "evalEvery": 2, "evalSamples": 0, "workers": 2 },
          "strategies": [ { "kind": "fedbuff", "name": "FB", "concurrency": 4, "bufferSize": 2 },
                          { "kind": "fedavg", "name": "FA", "devicesPerRound": 4 } ],
          "reference": "FB",
          "scaling": { "devices": [4, 8], "strategies": ["FB", "FA"] }
        }
        """;

    [Fact]
    public void ScalingRun_RunsEachSize_AndReusesTheRunsAtTheExperimentsOwnSize()
    {
        var config = StrictJson.Parse<SimulationConfig>(Json, "scale.json");
        var experiment = Experiment.Build(config);
        var main = experiment.Run();
        var points = experiment.RunScaling(main.Runs);
        Assert.Equal(4, points.Count);
        Assert.Equal([4, 4, 8, 8], points.Select(p => p.Devices));
        // Size 8 is the experiment's own: the points are the main runs' figures, not a second run.
        var own = points.Where(p => p.Devices == 8).ToList();
        Assert.Equal(main.Runs.Select(r => r.Summary.TimeToTarget), own.Select(p => p.TimeToTarget));
        Assert.Equal(main.Runs.Select(r => r.Summary.WallSeconds), own.Select(p => p.WallSeconds));
        // Size 4 is a real run on a 4-device fleet.
        Assert.All(points.Where(p => p.Devices == 4), p => Assert.True(p.FinalAccuracy > 0.5, $"{p.Strategy} at 4 devices: {p.FinalAccuracy:P1}"));
    }

    [Fact]
    public void ScalingConfig_Errors_NameTheKey()
    {
        var e = Assert.Throws<ConfigException>(() => StrictJson.Parse<SimulationConfig>(Json.Replace("[\"FB\", \"FA\"]", "[\"FB\", \"XX\"]"), "scale.json"));
        Assert.Contains("scaling.strategies[1]", e.Message);
        e = Assert.Throws<ConfigException>(() => StrictJson.Parse<SimulationConfig>(Json.Replace("\"devices\": 8 }", "\"devices\": 8, \"file\": \"f.csv\" }"), "scale.json"));
        Assert.Contains("cannot resize a fleet file", e.Message);
    }
}
