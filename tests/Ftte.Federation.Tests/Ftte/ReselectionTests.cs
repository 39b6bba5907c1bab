using Ftte.Core.Config;
using Ftte.Engine;
using Ftte.Federation.Config;
using Ftte.Federation.Selection;
using Ftte.Federation.Strategies;

namespace Ftte.Federation.Tests.FtteTests;

/// <summary>FTTE's reselectAfter: the switch after N steps, what later tasks train, how late updates of the old set merge.</summary>
public class ReselectionTests
{
    private static readonly LocalTraining Local = LocalTraining.Default;
    private static readonly ContributionOptions Analysis = new(Steps: 5, Optimizer: FtteFixtures.Sgd);

    /// <summary>
    /// Ten devices that hold the plan of fc2 and fc3 with little to spare, so the search has to choose; one pool, plain mean.
    /// From the initial weights it picks fc2 and fc3; after three steps of Δ = 0.5 it picks fc1.weight at 1/4 with the biases.
    /// </summary>
    private static (FakeHost Host, FtteStrategy Ftte) Started(int? reselectAfter)
    {
        var model = FtteFixtures.Mlp();
        long budget = FtteFixtures.Peak(model, TrainableSet.Parse(model, "fc2,fc3"), 16) + 4096;
        var host = new FakeHost(10, model: model, memory: budget);
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 4, BufferSize: 2, Weighting: FtteWeighting.None, Contribution: Analysis,
            Seed: 2, StragglerFactor: 0, ReselectAfter: reselectAfter), Local, FtteFixtures.Proxy());
        ftte.Start(host);
        return (host, ftte);
    }

    /// <summary>Delivers the oldest in-flight tasks with <paramref name="value"/> until the strategy has made <paramref name="steps"/> more steps.</summary>
    private static void Steps(FakeHost host, FtteStrategy ftte, int steps, float value)
    {
        int target = host.Commits.Count + steps;
        while (host.Commits.Count < target)
            host.Deliver(ftte, host.Active.Values.OrderBy(t => t.TaskId).First(), value);
    }

    /// <summary>What the analysis and the search choose from the host's weights now, computed apart from the strategy.</summary>
    private static string ChosenNow(FakeHost host, FtteStrategy ftte)
    {
        var model = host.Global.Model;
        var contributions = new ContributionAnalysis(FtteFixtures.Proxy(), Analysis).Analyze(model);
        return new ParameterSearch(model, contributions, ftte.BudgetBytes, Local.BatchSize, Local.Optimizer, new SearchOptions(Seed: 2))
            .Run(SelectionMethod.Search).Trainable.ToString();
    }

    [Fact]
    public void AfterNSteps_TheSearchRunsAgainOnTheTrainedWeights_AndOnlyLaterDispatchesUseTheNewSet()
    {
        var (host, ftte) = Started(reselectAfter: 3);
        string first = ftte.Spec.TrainableKey;
        Assert.Equal(ChosenNow(host, ftte), first);

        Steps(host, ftte, 2, 0.5f);
        Assert.Null(ftte.Reselected);
        Assert.All(host.Dispatched, t => Assert.Equal(first, t.Spec.TrainableKey));
        Steps(host, ftte, 1, 0.5f);

        var r = Assert.IsType<Reselection>(ftte.Reselected);
        Assert.Equal(3, r.AfterSteps);
        Assert.Equal(first, Assert.Single(r.Before).TrainableKey);
        string second = ftte.Spec.TrainableKey;
        Assert.Equal(ChosenNow(host, ftte), second);   // the same analysis and search, from the weights after 3 steps
        Assert.NotEqual(first, second);                 // these weights make it choose differently (fixed seeds)
        Assert.True(ftte.Plan.PeakBytes <= ftte.BudgetBytes);
        Assert.Equal(0, ftte.Participation.ExcludedDevices);

        // The step that triggered it dispatched after the switch: that task and every later one train the new set,
        // tasks already in flight keep the old one.
        var dispatchedBefore = host.Dispatched.Count(t => t.Spec.TrainableKey == first);
        Assert.Equal(3 * 2 + 4 - 1, dispatchedBefore);
        Assert.Equal(second, host.Dispatched[^1].Spec.TrainableKey);
        Assert.Equal(3, host.Active.Values.Count(t => t.Spec.TrainableKey == first));
        Steps(host, ftte, 3, 0.1f);
        Assert.All(host.Dispatched.Skip(dispatchedBefore), t => Assert.Equal(second, t.Spec.TrainableKey));
        Assert.Null(ftte.Notes.FirstOrDefault(n => n.Contains("not reached")));
        Assert.Contains(ftte.Notes, n => n.StartsWith("Re-selected after 3 server step(s)"));
    }

    [Fact]
    public void LateUpdatesOfTheOldSet_MergeOnTheCoordinatesTheNewSetTrains_AndLeaveItsFrozenPartAlone()
    {
        var (host, ftte) = Started(reselectAfter: 3);
        var model = host.Global.Model;
        Steps(host, ftte, 3, 0.5f);
        var oldTicket = host.Active.Values.OrderBy(t => t.TaskId).First(t => t.Spec.TrainableKey != ftte.Spec.TrainableKey);
        var newTicket = host.Active.Values.OrderBy(t => t.TaskId).First(t => t.Spec.TrainableKey == ftte.Spec.TrainableKey);
        var oldSet = Coordinates(oldTicket.Spec.Trainable.Ranges(model));
        var newSet = Coordinates(newTicket.Spec.Trainable.Ranges(model));
        int both = oldSet.Intersect(newSet).First();
        int onlyOld = oldSet.Except(newSet).First();
        int onlyNew = newSet.Except(oldSet).First();

        var before = host.Global.Weights.ToArray();
        Assert.Equal(UpdateVerdict.Accepted, host.Deliver(ftte, oldTicket, 1f));
        Assert.Equal(UpdateVerdict.Accepted, host.Deliver(ftte, newTicket, 3f));
        var after = host.Global.Weights.ToArray();
        Assert.Equal(4, host.Commits.Count);
        Assert.Equal(2f, after[both] - before[both], 5);        // coordinate-wise mean of both updates
        Assert.Equal(3f, after[onlyNew] - before[onlyNew], 5);  // only the new task trained it
        Assert.Equal(before[onlyOld], after[onlyOld]);           // frozen now: the late Δ does not reach it
        Assert.Equal(1, ftte.Reselected!.LateMerged);
        Assert.Equal(0, ftte.Reselected.LateDropped);
    }

    [Fact]
    public void WithoutTheOption_TheFirstChoiceIsKept()
    {
        var (host, ftte) = Started(reselectAfter: null);
        string first = ftte.Spec.TrainableKey;
        Steps(host, ftte, 6, 0.5f);
        Assert.Null(ftte.Reselected);
        Assert.All(host.Dispatched, t => Assert.Equal(first, t.Spec.TrainableKey));
        Assert.DoesNotContain(ftte.Notes, n => n.Contains("Re-selected"));
    }

    [Theory]
    [InlineData("""{ "kind": "ftte", "reselectAfter": -1 }""", "reselectAfter")]
    [InlineData("""{ "kind": "fedbuff", "reselectAfter": 100 }""", "'reselectAfter' does not apply to fedbuff")]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 100, "selection": "random" }""", "reselectAfter: re-selection re-runs the search")]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 100, "trainable": "fc3" }""", "reselectAfter: re-selection re-runs the search")]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 100, "weighting": "age", "privacy": { "noiseMultiplier": 1 } }""", "reselectAfter: re-selection cannot be combined with privacy")]
    public void ConfigErrors_NameTheKey(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => StrictJson.Parse<StrategyConfig>(json, "test"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ConfigKey_ReachesTheStrategy()
    {
        var config = StrictJson.Parse<StrategyConfig>("""{ "kind": "ftte", "reselectAfter": 100 }""", "test");
        var ftte = Assert.IsType<FtteStrategy>(config.Create(Local, ignoreMemory: false, seed: 1, FtteFixtures.Proxy()));
        Assert.Equal(100, ftte.Options.ReselectAfter);
        Assert.Throws<ArgumentException>(() => new FtteStrategy(new FtteOptions(ReselectAfter: 5, Selection: SelectionMethod.LastK), Local));
    }

    [Theory]
    [InlineData("""{ "kind": "ftte" }""", 100)]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 0 }""", null)]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 7 }""", 7)]
    [InlineData("""{ "kind": "ftte", "selection": "random" }""", null)]
    [InlineData("""{ "kind": "ftte", "trainable": "fc3" }""", null)]
    [InlineData("""{ "kind": "ftte", "privacy": { "noiseMultiplier": 1 } }""", null)]
    [InlineData("""{ "kind": "ftte", "secureAggregation": { } }""", null)]
    public void Default_ReselectsAfter100Steps_WhereReselectionApplies(string json, int? expected)
    {
        var config = StrictJson.Parse<StrategyConfig>(json, "test");
        Assert.Equal(expected, config.EffectiveReselectAfter);
        var ftte = Assert.IsType<FtteStrategy>(config.Create(Local, ignoreMemory: false, seed: 1, FtteFixtures.Proxy()));
        Assert.Equal(expected, ftte.Options.ReselectAfter);
    }

    private static HashSet<int> Coordinates(IEnumerable<WeightRange> ranges) =>
        [.. ranges.SelectMany(r => Enumerable.Range(r.Offset, r.Length))];
}
