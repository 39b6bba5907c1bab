using System.Text.Json.Nodes;
using Ftte.Core;
using Ftte.Core.Config;
using Ftte.Engine;
using Ftte.Federation.Config;
using Ftte.Federation.Privacy;
using Ftte.Federation.Selection;
using Ftte.Federation.Strategies;

namespace Ftte.Federation.Tests.FtteTests;

/// <summary>FTTE's reselectAfter: the checks at N, 2N, 4N …, the one switch, what later tasks train, how late updates of the old set merge.</summary>
public class ReselectionTests
{
    private static readonly LocalTraining Local = LocalTraining.Default;
    private static readonly ContributionOptions Analysis = new(Steps: 5, Optimizer: FtteFixtures.Sgd);

    /// <summary>
    /// Ten devices that hold the plan of fc2 and fc3 with little to spare, so the search has to choose; one pool, plain mean.
    /// From the initial weights it picks fc2 and fc3; after three steps of Δ = 0.5 it picks fc1.weight at 1/4 with the biases.
    /// </summary>
    /// <remarks>Margin 1 unless given: any better set switches, so the first check does (the mechanics under test here).</remarks>
    private static (FakeHost Host, FtteStrategy Ftte) Started(int? reselectAfter, string? trainable = null, double margin = 1)
    {
        var model = FtteFixtures.Mlp();
        var host = new FakeHost(10, model: model, memory: Budget(model));
        var ftte = new FtteStrategy(Options(reselectAfter, trainable, margin), Local, FtteFixtures.Proxy());
        ftte.Start(host);
        return (host, ftte);
    }

    private static FtteOptions Options(int? reselectAfter, string? trainable = null, double margin = 1) =>
        new(Concurrency: 4, BufferSize: 2, Weighting: FtteWeighting.None, Trainable: trainable, Contribution: Analysis, Seed: 2, StragglerFactor: 0,
            ReselectAfter: reselectAfter, ReselectMargin: margin);

    private static long Budget(Model model) => FtteFixtures.Peak(model, TrainableSet.Parse(model, "fc2,fc3"), 16) + 4096;

    /// <summary>
    /// What a restarted server does: a host at the same version and weights (plus <paramref name="weakerDevices"/> enrolled since,
    /// each with <paramref name="weakerMemory"/>; or devices with <paramref name="memoryOf"/>), a strategy with the same options
    /// whose first set is fixed by the stored config, then the saved state.
    /// </summary>
    private static (FakeHost Host, FtteStrategy Ftte, CountingSource Proxy) Restarted(FakeHost host, FtteStrategy before, string state,
        int weakerDevices = 0, long weakerMemory = 0, Func<int, long>? memoryOf = null)
    {
        var model = host.Global.Model.Clone();
        long budget = Budget(model);
        var restarted = new FakeHost(10 + weakerDevices, model: model, memoryOf: memoryOf ?? (d => d < 10 ? budget : weakerMemory));
        restarted.Global.Restore(host.Global.Version, host.Global.Weights);
        var first = before.Reselected?.Before[0] ?? before.Spec;
        var proxy = new CountingSource(FtteFixtures.Proxy());
        var ftte = new FtteStrategy(before.Options with { Trainable = first.TrainableKey }, first.Local, proxy);
        ftte.Start(restarted);
        ftte.RestoreState(state);
        return (restarted, ftte, proxy);
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

        // One switch only: no checks at 6 and 12 (with checks after a switch, a restarted run would also search again: below).
        Steps(host, ftte, 9, 0.5f);
        var check = Assert.Single(ftte.ReselectionChecks);
        Assert.True(check.Switched);
        Assert.Equal(3, ftte.Reselected!.AfterSteps);
        Assert.Equal(second, ftte.Spec.TrainableKey);
    }

    [Theory]
    [InlineData(10, new[] { 10, 20, 40, 80, 160, 1280 }, new[] { 0, 1, 5, 9, 11, 15, 30, 60, 100, 120 })]
    [InlineData(3, new[] { 3, 6, 12, 24 }, new[] { 1, 2, 4, 9, 18 })]
    public void Checks_ComeAtN_2N_4N(int n, int[] checks, int[] not)
    {
        var options = new FtteOptions(ReselectAfter: n);
        Assert.All(checks, s => Assert.True(options.IsReselectionCheck(s), $"step {s}"));
        Assert.All(not, s => Assert.False(options.IsReselectionCheck(s), $"step {s}"));
        Assert.False(new FtteOptions().IsReselectionCheck(n));
        Assert.False(new FtteOptions(ReselectAfter: 0).IsReselectionCheck(5)); // unvalidated options: no check, no division by zero
    }

    [Fact]
    public void ACheckBelowTheMargin_KeepsTheSet_AndTheNextCheckComesAtTwiceTheSteps()
    {
        // A margin no set reaches: every check measures and searches, none switches.
        var (host, ftte) = Started(reselectAfter: 3, margin: 1e5);
        string first = ftte.Spec.TrainableKey;
        Steps(host, ftte, 12, 0.5f);

        Assert.Null(ftte.Reselected);
        Assert.Equal([3, 6, 12], ftte.ReselectionChecks.Select(c => c.AfterSteps));
        Assert.All(ftte.ReselectionChecks, c => Assert.False(c.Switched));
        // The check at 3 sees what the margin-1 run switched on: a better set, measured at the same weights.
        var atThree = ftte.ReselectionChecks[0];
        Assert.True(atThree.Best > atThree.Current && atThree.Current > 0);
        Assert.All(host.Dispatched, t => Assert.Equal(first, t.Spec.TrainableKey));
        Assert.Contains(ftte.Notes, n => n.StartsWith("Re-selection checks after 3, 6, 12") && n.Contains("3: ") && !n.Contains("switched"));
        Assert.DoesNotContain(ftte.Notes, n => n.StartsWith("Re-selected"));
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
    [InlineData("""{ "kind": "ftte", "contributionMetric": "grad" }""", "gradient")]
    [InlineData("""{ "kind": "fedavg", "contributionMetric": "loss" }""", "'contributionMetric' does not apply to fedavg")]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 100, "selection": "random" }""", "reselectAfter: re-selection re-runs the search")]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 100, "weighting": "age", "privacy": { "noiseMultiplier": 1 } }""", "reselectAfter: re-selection cannot be combined with privacy")]
    [InlineData("""{ "kind": "ftte", "reselectMargin": 0.5 }""", "reselectMargin")]
    [InlineData("""{ "kind": "fedbuff", "reselectMargin": 2 }""", "'reselectMargin' does not apply to fedbuff")]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 0, "reselectMargin": 2 }""", "reselectMargin: this entry makes no re-selection checks")]
    [InlineData("""{ "kind": "ftte", "trainable": "fc3", "reselectMargin": 2 }""", "reselectMargin: this entry makes no re-selection checks")]
    public void ConfigErrors_NameTheKey(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => StrictJson.Parse<StrategyConfig>(json, "test"));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ConfigKey_ReachesTheStrategy()
    {
        var config = StrictJson.Parse<StrategyConfig>("""{ "kind": "ftte", "reselectAfter": 100, "reselectMargin": 1.5 }""", "test");
        var ftte = Assert.IsType<FtteStrategy>(config.Create(Local, ignoreMemory: false, seed: 1, FtteFixtures.Proxy()));
        Assert.Equal(100, ftte.Options.ReselectAfter);
        Assert.Equal(1.5, ftte.Options.ReselectMargin);
        var defaults = Assert.IsType<FtteStrategy>(StrictJson.Parse<StrategyConfig>("""{ "kind": "ftte" }""", "test")
            .Create(Local, ignoreMemory: false, seed: 1, FtteFixtures.Proxy()));
        Assert.Equal(FtteOptions.DefaultReselectMargin, defaults.Options.ReselectMargin);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FtteStrategy(new FtteOptions(ReselectAfter: 5, ReselectMargin: 0.9), Local, FtteFixtures.Proxy()));
        Assert.Throws<ArgumentException>(() => new FtteStrategy(new FtteOptions(ReselectAfter: 5, Selection: SelectionMethod.LastK), Local));
    }

    [Theory]
    [InlineData("""{ "kind": "ftte" }""", 10)]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 0 }""", null)]
    [InlineData("""{ "kind": "ftte", "reselectAfter": 7 }""", 7)]
    [InlineData("""{ "kind": "ftte", "selection": "random" }""", null)]
    [InlineData("""{ "kind": "ftte", "trainable": "fc3" }""", null)]
    [InlineData("""{ "kind": "ftte", "privacy": { "noiseMultiplier": 1 } }""", null)]
    [InlineData("""{ "kind": "ftte", "secureAggregation": { } }""", null)]
    public void Default_ChecksFromStep10_WhereReselectionApplies(string json, int? expected)
    {
        var config = StrictJson.Parse<StrategyConfig>(json, "test");
        Assert.Equal(expected, config.EffectiveReselectAfter);
        var ftte = Assert.IsType<FtteStrategy>(config.Create(Local, ignoreMemory: false, seed: 1, FtteFixtures.Proxy()));
        Assert.Equal(expected, ftte.Options.ReselectAfter);
    }

    [Fact]
    public void AFixedFirstSet_IsTrainedUntilTheReselection_ThenTheSearchChooses()
    {
        var config = StrictJson.Parse<StrategyConfig>("""{ "kind": "ftte", "reselectAfter": 3, "trainable": "fc3" }""", "test");
        Assert.Equal("fc3", config.Trainable);
        // The search still runs at the re-selection, so the proxy set is still needed.
        Assert.Contains("proxy set", Assert.Throws<ArgumentException>(() => new FtteStrategy(Options(3, "fc3"), Local)).Message);

        var (host, ftte) = Started(reselectAfter: 3, trainable: "fc3");
        string first = TrainableSet.Parse(host.Global.Model, "fc3").ToString();
        Assert.Equal(first, ftte.Spec.TrainableKey);
        Assert.Null(ftte.Selection);
        Steps(host, ftte, 3, 0.5f);

        Assert.Equal(first, Assert.Single(ftte.Reselected!.Before).TrainableKey);
        Assert.NotNull(ftte.Selection);
        Assert.Equal(ChosenNow(host, ftte), ftte.Spec.TrainableKey);
        Assert.NotEqual(first, ftte.Spec.TrainableKey);
    }

    [Fact]
    public void SaveState_AfterTheReselection_HoldsTheStepCountAndTheSetsAsStrings()
    {
        var (host, ftte) = Started(reselectAfter: 3);
        string first = ftte.Spec.TrainableKey;
        host.Now = 12.5;
        Steps(host, ftte, 3, 0.5f);

        var state = JsonNode.Parse(ftte.SaveState()!)!.AsObject();
        Assert.Equal(3, (int)state["steps"]!);
        Assert.Equal(ftte.BudgetBytes, (long)state["budgetBytes"]!);
        Assert.Equal(Local.BatchSize, (int)state["configuredBatch"]!);
        Assert.Null(state["privacy"]);
        var r = state["reselection"]!.AsObject();
        Assert.Equal(3, (int)r["afterSteps"]!);
        Assert.Equal(12.5, (double)r["at"]!);
        Assert.Equal([first], r["before"]!.AsArray().Select(n => (string)n!));
        Assert.Equal(ftte.Levels.Select(l => l.TrainableKey), r["levels"]!.AsArray().Select(n => (string)n!));
        Assert.Equal(ftte.Local.BatchSize, (int)r["batch"]!);
        Assert.Equal(0, (int)r["lateMerged"]!);
        Assert.Equal(0, (int)r["lateDropped"]!);
    }

    [Fact]
    public void RestoredAfterTheReselection_DispatchesTheNewSet_WithoutSearchingAgain()
    {
        var (host, before) = Started(reselectAfter: 3);
        string first = before.Spec.TrainableKey;
        host.Now = 12.5;
        Steps(host, before, 3, 0.5f);
        string second = before.Spec.TrainableKey;
        // One more step with a late update of the first set in it, so the state has a late merge to carry.
        host.Deliver(before, host.Active.Values.OrderBy(t => t.TaskId).First(t => t.Spec.TrainableKey == first), 1f);
        host.Deliver(before, host.Active.Values.OrderBy(t => t.TaskId).First(t => t.Spec.TrainableKey == second), 1f);
        Assert.Equal(4, host.Commits.Count);
        Assert.Equal(1, before.Reselected!.LateMerged);

        var (restarted, after, proxy) = Restarted(host, before, before.SaveState()!);
        // Start dispatched the stored first set before the state was read; the next event re-establishes the re-selection,
        // so that task's update is a late one of the old set, and the task that replaces it trains the new set.
        Assert.All(restarted.Dispatched, t => Assert.Equal(first, t.Spec.TrainableKey));
        int fromStart = restarted.Dispatched.Count;
        restarted.Deliver(after, restarted.Active.Values.OrderBy(t => t.TaskId).First(), 0.1f);

        Assert.Equal(second, after.Spec.TrainableKey);
        Assert.Equal(before.Levels.Select(l => l.TrainableKey), after.Levels.Select(l => l.TrainableKey));
        Assert.Equal(before.Local.BatchSize, after.Local.BatchSize);
        Assert.Equal(before.Plan.PeakBytes, after.Plan.PeakBytes);
        var r = after.Reselected!;
        Assert.Equal((3, 12.5), (r.AfterSteps, r.At));
        Assert.Equal(first, Assert.Single(r.Before).TrainableKey);
        Assert.Equal(2, r.LateMerged);
        Assert.Equal(second, Assert.Single(restarted.Dispatched.Skip(fromStart)).Spec.TrainableKey);

        // Training goes on with the new set, the re-selection is not made again, and the proxy set is never read: no search ran.
        Steps(restarted, after, 3, 0.1f);
        Assert.All(restarted.Dispatched.Skip(fromStart), t => Assert.Equal(second, t.Spec.TrainableKey));
        Assert.Equal(3, after.Reselected!.AfterSteps);
        Assert.Equal(0, proxy.Reads);
        Assert.Contains(after.Notes, n => n.Contains("(re-selected before a restart)") && n.Contains(second));
    }

    [Fact]
    public void RestoredBeforeN_ReselectsAtN_FromTheSavedBudget_AsAnUninterruptedRunWould()
    {
        var (host, uninterrupted) = Started(reselectAfter: 3);
        string first = uninterrupted.Spec.TrainableKey;
        Steps(host, uninterrupted, 2, 0.5f);
        string state = uninterrupted.SaveState()!;
        // A weaker device enrolled before the restart: the budget resolved now would be its memory, the saved one is not.
        long weaker = FtteFixtures.Peak(host.Global.Model, TrainableSet.Parse(host.Global.Model, "fc3"), 16) + 4096;
        var (restarted, after, _) = Restarted(host, uninterrupted, state, weakerDevices: 1, weakerMemory: weaker);
        Assert.Equal(uninterrupted.BudgetBytes, after.BudgetBytes);

        Steps(host, uninterrupted, 1, 0.5f);
        Steps(restarted, after, 1, 0.5f);

        Assert.Equal(host.Global.Weights.ToArray(), restarted.Global.Weights.ToArray());
        Assert.Equal(3, after.Reselected!.AfterSteps);
        Assert.Equal(first, Assert.Single(after.Reselected.Before).TrainableKey);
        Assert.Equal(uninterrupted.Spec.TrainableKey, after.Spec.TrainableKey);
        Assert.NotEqual(first, after.Spec.TrainableKey);
    }

    [Fact]
    public void RestoredBetweenChecks_TheNoteSaysTheEarlierChecksKeptTheSet_AndTheNextCheckComesOnSchedule()
    {
        var (host, before) = Started(reselectAfter: 3, margin: 1e5);
        Steps(host, before, 7, 0.5f);
        Assert.Equal([3, 6], before.ReselectionChecks.Select(c => c.AfterSteps));

        var (restarted, after, _) = Restarted(host, before, before.SaveState()!);
        restarted.Deliver(after, restarted.Active.Values.OrderBy(t => t.TaskId).First(), 0.5f);
        Assert.Contains(after.Notes, n => n.Contains("the checks up to step 6 (before a restart) kept the set; the next is after 12 steps"));
        Steps(restarted, after, 5, 0.5f);
        Assert.Equal([12], after.ReselectionChecks.Select(c => c.AfterSteps));
    }

    [Fact]
    public void NestedLevels_SurviveARestartBeforeTheSwitch()
    {
        var model = FtteFixtures.Mlp();
        long budget = Budget(model), big = 4 * budget;
        long Memory(int d) => d < 5 ? budget : big;
        var host = new FakeHost(10, model: model, memoryOf: Memory);
        var before = new FtteStrategy(Options(3, margin: 1e5) with { NestedBudgets = [MemoryBudget.Bytes(big)] }, Local, FtteFixtures.Proxy());
        before.Start(host);
        Assert.Equal(2, before.Levels.Count);
        Steps(host, before, 4, 0.5f);

        // The stored config holds w* alone, so the restarted strategy starts with one level; the upper one comes back from the state.
        var (restarted, after, _) = Restarted(host, before, before.SaveState()!, memoryOf: Memory);
        Assert.Single(after.Levels);
        Steps(restarted, after, 4, 0.5f);

        Assert.Equal(before.Levels.Select(l => l.TrainableKey), after.Levels.Select(l => l.TrainableKey));
        Assert.Contains(restarted.Dispatched, t => t.Spec.TrainableKey == before.Levels[1].TrainableKey);
        Assert.Null(after.Reselected);
    }

    [Fact]
    public void AfterARestart_TheAnalysisRunsAtTheConfiguredBatch_NotTheHalvedOneTheStoredConfigHolds()
    {
        // What the config builds: analysis options at the local batch. A restarted server's local batch is the chosen one (4 here).
        var configured = Local with { BatchSize = 8 };
        var options = Options(3) with { Contribution = Analysis with { BatchSize = 4 } };
        var restarted = new FtteStrategy(options, configured with { BatchSize = 4 }, FtteFixtures.Proxy());
        Assert.Equal(4, restarted.AnalysisOptions.BatchSize);
        var state = new Strategies.Internal.FtteState(2, 1 << 20, ConfiguredBatch: 8, Reselection: null, Privacy: null).ToJson();
        restarted.RestoreState(state);
        Assert.Equal(8, restarted.AnalysisOptions.BatchSize);

        // Options that name another analysis batch keep it.
        var own = new FtteStrategy(Options(3) with { Contribution = Analysis with { BatchSize = 32 } }, configured, FtteFixtures.Proxy());
        own.RestoreState(state);
        Assert.Equal(32, own.AnalysisOptions.BatchSize);
    }

    [Fact]
    public void AStateOfTheEarlierFormat_TheDpStateAlone_StillRestores()
    {
        var dp = new ClientDpOptions { NoiseMultiplier = 1, ClipNorm = 1, BufferSize = 0 };
        var options = new FtteOptions(Concurrency: 4, BufferSize: 2, Trainable: "last:1", Weighting: FtteWeighting.Age, StragglerFactor: 0, Privacy: dp);
        var host = new FakeHost(devices: 8);
        var before = new FtteStrategy(options, Local);
        before.Start(host);
        foreach (var t in host.Dispatched.Take(2).ToList()) host.Deliver(before, t, 0.05f);
        Assert.Single(host.Commits);
        // What the earlier code saved: the DP state alone, which the current format holds under "privacy".
        string earlier = JsonNode.Parse(before.SaveState()!)!["privacy"]!.ToJsonString();

        var after = new FtteStrategy(options, Local);
        after.Start(new FakeHost(devices: 8));
        after.RestoreState(earlier);

        Assert.Equal(before.PrivacySpent!.Epsilon, after.PrivacySpent!.Epsilon, 12);
        Assert.Null(after.Reselected);
    }

    /// <summary>A proxy set that counts the samples read from it (contribution analysis reads every one it trains or scores on).</summary>
    private sealed class CountingSource(ISampleSource inner) : ISampleSource
    {
        public int Reads { get; private set; }
        public int Count => inner.Count;
        public int SampleSize => inner.SampleSize;

        public ReadOnlySpan<float> Sample(int index)
        {
            Reads++;
            return inner.Sample(index);
        }

        public int Label(int index) => inner.Label(index);
    }

    [Theory]
    [InlineData(null, ContributionMetric.GradientSquared)]
    [InlineData("gradient", ContributionMetric.GradientSquared)]
    [InlineData("loss", ContributionMetric.LossReduction)]
    [InlineData("accuracy", ContributionMetric.AccuracyGain)]
    public void ContributionMetric_KeyReachesTheAnalysis(string? key, ContributionMetric expected)
    {
        var config = new StrategyConfig { Kind = StrategyKind.Ftte, ContributionMetric = key };
        var ftte = Assert.IsType<FtteStrategy>(config.Create(Local, ignoreMemory: false, seed: 1, FtteFixtures.Proxy()));
        Assert.Equal(expected, (ftte.Options.Contribution ?? new ContributionOptions()).Metric);
    }

    private static HashSet<int> Coordinates(IEnumerable<WeightRange> ranges) =>
        [.. ranges.SelectMany(r => Enumerable.Range(r.Offset, r.Length))];
}
