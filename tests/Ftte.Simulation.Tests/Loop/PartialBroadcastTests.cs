using Ftte.Engine;
using Ftte.Federation;
using Ftte.Federation.Strategies;

namespace Ftte.Simulation.Tests.Loop;

public class PartialBroadcastTests
{
    [Fact]
    public void TrainableOnlyTasks_DownloadTheFrozenPartOncePerDevice_AndOnlyTheSubsetAfterwards()
    {
        var devices = SimulationFixtures.Uniform(4);
        var sim = SimulationFixtures.Create(devices, new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 5, Workers = 2 });
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 4, BufferSize: 4, Trainable: "fc3", StragglerFactor: 0), SimulationFixtures.Local);
        var run = sim.Run(ftte).Summary;

        var model = SimulationFixtures.Mlp();
        var subset = TrainableSet.Parse(model, "fc3");
        long full = ParameterSerializer.SerializedSize(model);
        long trainable = ParameterSerializer.SerializedSize(model, subset);
        Assert.True(trainable < full / 10, "fc3 is a small part of the MLP");

        // Each of the 4 devices paid the frozen part exactly once.
        Assert.Equal(4 * (full - trainable), run.BytesDownFirstContact);
        // Every download carried the subset; uploads carry only Δ of the subset.
        Assert.Equal(0, (run.BytesDown - run.BytesDownFirstContact) % trainable);
        long received = run.UpdatesAccepted + run.UpdatesDropped + run.UpdatesStale;
        Assert.Equal(received * trainable, run.BytesUp);
        Assert.True(run.BytesDown - run.BytesDownFirstContact >= received * trainable);
    }

    [Fact]
    public void AChangedFrozenPart_IsDownloadedAgain_AsADeviceKeyingItsCacheByHashWould()
    {
        long FrozenBytes(Action<GlobalModel>? beforeCommit)
        {
            var sim = SimulationFixtures.Create(SimulationFixtures.Uniform(4), new SimulationOptions { MaxSeconds = 1e6, MaxVersions = 5, Workers = 2 });
            var ftte = new FtteStrategy(new FtteOptions(Concurrency: 4, BufferSize: 4, Trainable: "fc3", StragglerFactor: 0), SimulationFixtures.Local);
            return sim.Run(new ProbeStrategy(ftte, beforeCommit)).Summary.BytesDownFirstContact;
        }
        var model = SimulationFixtures.Mlp();
        long frozen = ParameterSerializer.SerializedSize(model) - ParameterSerializer.SerializedSize(model, TrainableSet.Parse(model, "fc3"));
        int outside = model.Parameter("fc1.weight").Offset;

        Assert.Equal(4 * frozen, FrozenBytes(null));
        // Each step also moves a weight outside fc3 (as a nested level or a late update would): the cached frozen part is stale
        // after every step, so devices pay it again instead of being counted as holding it.
        long paid = FrozenBytes(g => g.Weights[outside] += 1f);
        Assert.Equal(0, paid % frozen);
        Assert.True(paid > 4 * frozen, $"{paid / frozen} frozen downloads");
    }
}
