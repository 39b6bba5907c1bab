using Ftte.Engine;
using Ftte.Engine.Models;
using Ftte.Engine.Training;
using Ftte.Federation.Selection;

namespace Ftte.Federation.Tests.FtteTests;

public class SelectionTests
{
    private static readonly Lazy<ContributionReport> Measured = new(() =>
        new ContributionAnalysis(FtteFixtures.Proxy(), new ContributionOptions(Steps: 10, Optimizer: FtteFixtures.Sgd)).Analyze(FtteFixtures.Mlp()));

    [Fact]
    public void ContributionAnalysis_IsDeterministic_CachesAndLeavesTheModelAlone()
    {
        var model = FtteFixtures.Mlp();
        var before = model.Weights.ToArray();
        var options = new ContributionOptions(Steps: 5, Optimizer: FtteFixtures.Sgd, Metric: ContributionMetric.LossReduction, Seed: 9);
        var analysis = new ContributionAnalysis(FtteFixtures.Proxy(), options);
        var a = analysis.Analyze(model);
        int trained = analysis.UnitsTrained;
        var b = analysis.Analyze(model);
        var c = new ContributionAnalysis(FtteFixtures.Proxy(), options).Analyze(model);
        Assert.Equal(a.Gains, b.Gains);
        Assert.Equal(a.Gains, c.Gains);
        Assert.Equal(trained, analysis.UnitsTrained); // second call served from the cache
        Assert.Equal(before, model.Weights.ToArray());
        Assert.All(a.Gains, g => Assert.True(g >= 0));
    }

    [Fact]
    public void GradientContribution_IsTheFirstOrderLossReductionOfEachUnit()
    {
        // The analysis sums ḡ over chunks of its batch (16); one plain SGD step at learning rate 1 on the whole proxy set in
        // one pass moves every weight by exactly −ḡ: the expected gain of a unit is steps·η·Σ (Δw)² over its channels.
        var model = FtteFixtures.Mlp();
        var before = model.Weights.ToArray();
        var options = new ContributionOptions(Steps: 20, Optimizer: FtteFixtures.Sgd, Metric: ContributionMetric.GradientSquared);
        var report = new ContributionAnalysis(FtteFixtures.Proxy(), options).Analyze(model);
        Assert.Equal(before, model.Weights.ToArray());

        var probe = model.Clone();
        var proxy = FtteFixtures.Proxy();
        var session = new TrainingSession(probe, TrainableSet.All(probe), proxy.Count, new SgdOptions { LearningRate = 1f });
        LocalTrainer.Fill(proxy, Enumerable.Range(0, proxy.Count).ToArray(), session.Input, session.Labels);
        session.Step(proxy.Count);
        foreach (var (unit, gain) in report.Units.Zip(report.Gains))
        {
            var p = probe.Parameter(unit.Tensor);
            double sum = 0;
            for (int k = p.Offset; k < p.Offset + unit.Channels * p.ChannelSize; k++) sum += Math.Pow(probe.Weights[k] - before[k], 2);
            double expected = 20 * 0.05 * sum;
            Assert.True(Math.Abs(gain - expected) <= 1e-3 * expected + 1e-12, $"{unit}: {gain} vs {expected}");
        }
        // More channels of a tensor never score less, and whole tensors score more than nothing.
        foreach (var tensor in report.Units.GroupBy(u => u.Tensor))
        {
            var byChannels = tensor.OrderBy(u => u.Channels).Select(u => report.Gain(u.Tensor, u.Option)).ToArray();
            for (int i = 1; i < byChannels.Length; i++) Assert.True(byChannels[i] >= byChannels[i - 1], tensor.Key);
            Assert.True(byChannels[^1] > 0, tensor.Key);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]     // 40 = 5·7 + 5: a short last chunk
    [InlineData(16)]
    public void GradientContribution_InChunks_EqualsOneBatchOfTheWholeProxySet(int batch)
    {
        // LeNet on 8×8 digits, 40 proxy samples: one batch of all 40 is what the measure computed before it chunked (at 256).
        var model = BuiltInModels.LeNet(new Shape(1, 8, 8), seed: 11);
        var proxy = FtteFixtures.Proxy(40);
        ContributionReport Measure(int b) =>
            new ContributionAnalysis(proxy, new ContributionOptions(BatchSize: b, Optimizer: FtteFixtures.Sgd, Metric: ContributionMetric.GradientSquared)).Analyze(model);
        var whole = Measure(proxy.Count);

        var chunked = Measure(batch);

        Assert.Equal(whole.Units, chunked.Units);
        Assert.All(whole.Gains, g => Assert.True(g > 0));
        for (int u = 0; u < whole.Units.Count; u++)
            Assert.True(Math.Abs(chunked.Gains[u] - whole.Gains[u]) <= 1e-5 * whole.Gains[u], $"{whole.Units[u]}: {chunked.Gains[u]} vs {whole.Gains[u]}");
    }

    [Fact]
    public void GradientContribution_PlansItsPassAtTheAnalysisBatch_NotTheProxySet()
    {
        var model = FtteFixtures.Mlp();
        var analysis = new ContributionAnalysis(FtteFixtures.Proxy(), new ContributionOptions(BatchSize: 8, Optimizer: FtteFixtures.Sgd));

        analysis.Analyze(model);

        Assert.Equal(FtteFixtures.Peak(model, TrainableSet.All(model), 8), analysis.FirstOrderPeakBytes);
    }

    [Fact]
    public void ContributionAnalysis_CandidatesAreBiasesInFullAndWeightsAtEachRatio()
    {
        var units = ContributionAnalysis.Candidates(FtteFixtures.Mlp());
        // fc1 (128 out) and fc2 (64 out): 4 ratios each; fc3 (10 out): ⌈10/8⌉=2, ⌈10/4⌉=3, 5, 10 — 4 distinct; 3 biases.
        Assert.Equal(4 + 4 + 4 + 3, units.Count);
        Assert.Contains(units, u => u.Key == "fc3.weight=0.125" && u.Channels == 2);
        Assert.Contains(units, u => u.Key == "fc2.bias=full");
        Assert.Contains(units, u => u.Key == "fc1.weight=full" && u.Elements == 128 * 64);
    }

    [Fact]
    public void ContributionAnalysis_LastLayerContributesPositively()
    {
        var report = Measured.Value;
        Assert.True(report.Gain("fc3.weight", TensorTraining.Full) > 0);
        Assert.True(report.Gain("fc3.bias", TensorTraining.Full) > 0);
        // More channels of the classifier help at least as much as fewer (same steps, same batches).
        Assert.True(report.Gain("fc3.weight", TensorTraining.Full) >= report.Gain("fc3.weight", TensorTraining.OfRatio(0.125)));
    }

    /// <summary>Every combination of options: the optimum the search must reach.</summary>
    private static (double Best, int Feasible) BruteForce(ParameterSearch search)
    {
        int t = search.Tensors.Count;
        var genome = new int[t];
        double best = double.NegativeInfinity;
        int feasible = 0;
        while (true)
        {
            if (genome.Any(x => x != 0) && search.Fits(genome))
            {
                feasible++;
                best = Math.Max(best, search.ContributionOf(genome));
            }
            int i = 0;
            while (i < t && ++genome[i] == search.OptionsOf(i).Count) { genome[i] = 0; i++; }
            if (i == t) return (best, feasible);
        }
    }

    [Theory]
    [InlineData(0.10)]
    [InlineData(0.35)]
    [InlineData(0.60)]
    public void Search_FindsTheBruteForceOptimum_OnTheMlp(double budgetPosition)
    {
        var model = FtteFixtures.Mlp();
        var report = Measured.Value;
        // Budgets between the cheapest single unit and training everything, where the choice matters.
        long lo = FtteFixtures.Peak(model, TrainableSet.Parse(model, "fc3.bias"), 16);
        long hi = FtteFixtures.Peak(model, TrainableSet.All(model), 16);
        long budget = lo + (long)((hi - lo) * budgetPosition);
        var search = new ParameterSearch(model, report, budget, 16, FtteFixtures.Sgd, new SearchOptions(Seed: 5));
        var result = search.Search();
        var (best, feasible) = BruteForce(search);
        Assert.True(feasible > 1);
        Assert.Equal(best, result.Contribution, 9);
        Assert.True(result.PeakBytes <= budget);
        Assert.Equal(FtteFixtures.Peak(model, result.Trainable, 16), result.PeakBytes); // the planner's word, at the batch used
    }

    [Fact]
    public void Search_AlwaysFits_AndUsesTheBudgetBetterThanBiasOnlyAndTheBaselines()
    {
        var model = FtteFixtures.Mlp();
        var report = Measured.Value;
        long bias = FtteFixtures.Peak(model, TrainableSet.BiasOnly(model), 16);
        long budget = bias + 48 * 1024;
        var search = new ParameterSearch(model, report, budget, 16, FtteFixtures.Sgd);
        var chosen = search.Search();
        var biasOnly = search.BiasOnly();
        var lastK = search.LastK();
        var random = search.RandomChoice();
        foreach (var r in new[] { chosen, biasOnly, lastK, random })
        {
            Assert.True(r.PeakBytes <= budget, r.ToText());
            Assert.True(chosen.Contribution >= r.Contribution, $"{chosen}\nvs\n{r}");
            Assert.Equal(16, r.Batch);
        }
        Assert.True(chosen.Contribution > biasOnly.Contribution);
        Assert.True(chosen.PeakBytes > biasOnly.PeakBytes);
        string text = chosen.ToText();
        Assert.Contains("contribution", text);
        Assert.Contains("plan peak", text);
        Assert.Contains("activations saved for backward", text);
    }

    [Fact]
    public void BiasOnly_OverTheBudgetAtTheBatch_HalvesTheBatchUntilItFits()
    {
        var model = FtteFixtures.Mlp();
        long at16 = FtteFixtures.Peak(model, TrainableSet.BiasOnly(model), 16);
        long at4 = FtteFixtures.Peak(model, TrainableSet.BiasOnly(model), 4);
        long at8 = FtteFixtures.Peak(model, TrainableSet.BiasOnly(model), 8);
        Assert.True(at4 < at8 && at8 < at16);
        // A budget between batch 4's and batch 8's peak: the search still plans at 16 (its cheapest single tensor fits there).
        var search = new ParameterSearch(model, Measured.Value, (at4 + at8) / 2, 16, FtteFixtures.Sgd);
        Assert.Equal(16, search.Batch);

        var biasOnly = search.BiasOnly();

        Assert.Equal(4, biasOnly.Batch);
        Assert.Equal(at4, biasOnly.PeakBytes);
        Assert.Contains("batch 4 (halved from 16 to fit)", biasOnly.ToText());
    }

    [Fact]
    public void Slack_TradesAShareOfContributionForTheCheapestSetThatKeepsTheRest()
    {
        var model = FtteFixtures.Mlp();
        long budget = FtteFixtures.Peak(model, TrainableSet.All(model), 16);
        var best = new ParameterSearch(model, Measured.Value, budget, 16, FtteFixtures.Sgd, new SearchOptions(Seed: 3)).Search();
        var knee = new ParameterSearch(model, Measured.Value, budget, 16, FtteFixtures.Sgd, new SearchOptions(Seed: 3, Slack: 0.3)).Search();
        Assert.True(knee.Contribution >= 0.7 * best.Contribution - 1e-12, $"{knee}\nvs\n{best}");
        Assert.True(knee.PeakBytes < best.PeakBytes, $"{knee}\nvs\n{best}");
        Assert.True(knee.PeakBytes <= budget);
    }

    [Fact]
    public void Search_IsDeterministicForASeed()
    {
        var model = FtteFixtures.Mlp();
        long budget = FtteFixtures.Peak(model, TrainableSet.Parse(model, "fc2,fc3"), 16);
        var a = new ParameterSearch(model, Measured.Value, budget, 16, FtteFixtures.Sgd, new SearchOptions(Seed: 3)).Search();
        var b = new ParameterSearch(model, Measured.Value, budget, 16, FtteFixtures.Sgd, new SearchOptions(Seed: 3)).Search();
        Assert.Equal(a.Trainable.ToString(), b.Trainable.ToString());
        Assert.Equal(a.Contribution, b.Contribution);
    }

    [Fact]
    public void Search_HalvesTheBatchWhenNothingFits_AndFailsWithTheNeedAtBatchOne()
    {
        var model = FtteFixtures.Mlp();
        var cheapest = TrainableSet.Parse(model, "fc3.bias");
        long at4 = FtteFixtures.Peak(model, cheapest, 4);
        Assert.True(FtteFixtures.Peak(model, cheapest, 8) > at4);
        var search = new ParameterSearch(model, Measured.Value, at4, 64, FtteFixtures.Sgd);
        Assert.Equal(4, search.Batch);
        var result = search.Search();
        Assert.Equal(4, result.Batch);
        Assert.Contains("halved from 64", result.ToText());

        long tooSmall = model.ParameterBytes; // the weights alone leave no room for an arena
        var ex = Assert.Throws<InvalidOperationException>(() => new ParameterSearch(model, Measured.Value, tooSmall, 16, FtteFixtures.Sgd));
        Assert.Contains("batch 1", ex.Message);
        Assert.Contains("largest consumer", ex.Message);
    }
}
