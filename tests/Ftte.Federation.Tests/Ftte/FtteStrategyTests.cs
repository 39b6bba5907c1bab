using Ftte.Engine;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Selection;
using Ftte.Federation.Strategies;

namespace Ftte.Federation.Tests.FtteTests;

public class FtteStrategyTests
{
    private static readonly LocalTraining Local = LocalTraining.Default;

    /// <summary>An update of <paramref name="value"/> on every trained coordinate with a chosen staleness.</summary>
    private static ClientUpdate Update(FakeHost host, TaskTicket ticket, float value, int staleness)
    {
        host.Active.Remove(ticket.TaskId);
        var model = host.Global.Model;
        var ranges = ticket.Spec.Trainable.Ranges(model);
        var delta = new float[model.ParameterCount];
        foreach (var r in ranges) Array.Fill(delta, value, r.Offset, r.Length);
        return new ClientUpdate
        {
            Task = ticket, Delta = delta, BaseWeights = host.Global.Weights.ToArray(), Ranges = ranges,
            Samples = 10, ReceivedAt = host.Now, Staleness = staleness,
        };
    }

    [Fact]
    public void DispatchesTrainableOnlySpecs_KeepsMInFlight_AndStepsAtK()
    {
        var host = new FakeHost(30);
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 6, BufferSize: 4, Trainable: "fc2,fc3", Weighting: FtteWeighting.None), Local);
        ftte.Start(host);
        Assert.Equal("FTTE(M=6,K=4)", ftte.Name);
        Assert.Equal(6, host.InFlight);
        Assert.All(host.Dispatched, t => Assert.Equal(Broadcast.TrainableOnly, t.Spec.Broadcast));
        Assert.Single(host.Dispatched.Select(t => t.Spec.TrainableKey).Distinct());
        var before = host.Global.Weights.ToArray();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(UpdateVerdict.Accepted, host.Deliver(ftte, host.Active.Values.First(), 0.5f));
            Assert.Empty(host.Commits);
            Assert.Equal(6, host.InFlight);
        }
        host.Deliver(ftte, host.Active.Values.First(), 0.5f);
        Assert.Equal([4], host.Commits);
        var after = host.Global.Weights.ToArray();
        var fc1 = host.Global.Model.Parameter("fc1.weight");
        var fc3 = host.Global.Model.Parameter("fc3.bias");
        Assert.Equal(before[fc1.Offset], after[fc1.Offset]);              // frozen: untouched
        Assert.Equal(before[fc3.Offset] + 0.5f, after[fc3.Offset], 6);    // trained: plain mean of four 0.5s
    }

    [Fact]
    public void Stragglers_TrainInTheirOwnPool_SoTheyNeverHoldTheFastDevicesSlots()
    {
        // Devices 0–9 compute at 1 GFLOP/s, 10–19 at 1 MFLOP/s: the slow half is far beyond 4× the K-th fastest (K = 2) device's task time.
        var host = new FakeHost(20, flopsOf: i => i < 10 ? 1e9 : 1e6);
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 4, BufferSize: 2, Trainable: "fc3", StragglerConcurrency: 2), Local);
        ftte.Start(host);
        Assert.Equal(10, ftte.Stragglers);
        Assert.Equal(4, host.Active.Values.Count(t => t.DeviceId < 10));
        Assert.Equal(2, host.Active.Values.Count(t => t.DeviceId >= 10));

        // A fast arrival is replaced by a fast device, a straggler's by a straggler.
        host.Deliver(ftte, host.Active.Values.First(t => t.DeviceId < 10), 0.1f);
        host.Deliver(ftte, host.Active.Values.First(t => t.DeviceId >= 10), 0.1f);
        Assert.Equal(4, host.Active.Values.Count(t => t.DeviceId < 10));
        Assert.Equal(2, host.Active.Values.Count(t => t.DeviceId >= 10));

        // With the pool off, all devices share the M slots.
        var single = new FakeHost(20, flopsOf: i => i < 10 ? 1e9 : 1e6);
        var paper = new FtteStrategy(new FtteOptions(Concurrency: 4, BufferSize: 2, Trainable: "fc3", StragglerFactor: 0), Local);
        paper.Start(single);
        Assert.Equal(0, paper.Stragglers);
        Assert.Equal(4, single.InFlight);
    }

    [Fact]
    public void DropsUpdatesPastTheStalenessCap_AndRejectsNonFiniteOnes()
    {
        var host = new FakeHost(10);
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 3, BufferSize: 1, MaxStaleness: 1, Trainable: "fc3"), Local);
        ftte.Start(host);
        var tasks = host.Active.Values.OrderBy(t => t.TaskId).ToArray();
        Assert.Equal(UpdateVerdict.Accepted, ftte.OnUpdate(host, Update(host, tasks[0], 1f, 0)));
        Assert.Equal(UpdateVerdict.DroppedStale, ftte.OnUpdate(host, Update(host, tasks[1], 1f, 2)));
        Assert.Equal(UpdateVerdict.Rejected, ftte.OnUpdate(host, Update(host, tasks[2], float.NaN, 0)));
        Assert.Equal([1], host.Commits);
        Assert.Equal(3, host.InFlight); // every outcome is replaced
        Assert.Equal(1, ftte.Rejected);
    }

    [Theory]
    [InlineData(FtteWeighting.Age)]
    [InlineData(FtteWeighting.AgeAndVariance)]
    public void Weighting_MatchesTheFormulaOnAHandComputedBuffer(FtteWeighting weighting)
    {
        var host = new FakeHost(10);
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 3, BufferSize: 3, Trainable: "fc3", Weighting: weighting, ServerLearningRate: 0.5), Local);
        ftte.Start(host);
        var tasks = host.Active.Values.OrderBy(t => t.TaskId).ToArray();
        var bias = host.Global.Model.Parameter("fc3.bias");
        float before = host.Global.Weights[bias.Offset];
        // Δ = 1, 2, 6 with τ = 0, 1, 3.
        ftte.OnUpdate(host, Update(host, tasks[0], 1f, 0));
        ftte.OnUpdate(host, Update(host, tasks[1], 2f, 1));
        ftte.OnUpdate(host, Update(host, tasks[2], 6f, 3));
        Assert.Equal([3], host.Commits);

        // a = 1, 1/√2, 1/2.
        double[] a = [1, 1 / Math.Sqrt(2), 0.5];
        double expected;
        if (weighting == FtteWeighting.Age)
        {
            expected = (a[0] * 1 + a[1] * 2 + a[2] * 6) / 3; // FedBuff: Σ s(τ)Δ / K
        }
        else
        {
            // Δ̄ = 3; squared deviations ∝ 4, 1, 9 (same count of coordinates); mean 14/3 → ρ = 12/14, 3/14, 27/14;
            // v = 1/(1+ρ) = 14/26, 14/17, 14/41.
            double[] v = [14.0 / 26, 14.0 / 17, 14.0 / 41];
            expected = (a[0] * v[0] * 1 + a[1] * v[1] * 2 + a[2] * v[2] * 6) / v.Sum();
            Assert.Equal(v, ftte.LastStep!.Variance, new ToleranceComparer(1e-12));
        }
        Assert.Equal(before + 0.5 * expected, host.Global.Weights[bias.Offset], 5);
        Assert.Equal(a, ftte.LastStep!.Age, new ToleranceComparer(1e-12));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }

    [Fact]
    public void IdenticalUpdates_GetEqualVarianceWeights()
    {
        var host = new FakeHost(4);
        var ftte = new FtteStrategy(new FtteOptions(Concurrency: 2, BufferSize: 2, Trainable: "fc3"), Local);
        ftte.Start(host);
        var t = host.Active.Values.OrderBy(x => x.TaskId).ToArray();
        var w = FtteStrategy.ComputeWeights([Update(host, t[0], 1f, 0), Update(host, t[1], 1f, 0)], FtteWeighting.AgeAndVariance, StalenessFunction.InverseSqrt);
        Assert.Equal([0.5, 0.5], w.Variance);
        Assert.Equal([0.5, 0.5], w.Shares());
    }

    [Fact]
    public void NestedBudgets_GiveStrongerDevicesALargerSetThatContainsWStar()
    {
        var model = FtteFixtures.Mlp();
        long small = FtteFixtures.Peak(model, TrainableSet.Parse(model, "fc3"), 16) + 4096;
        long large = FtteFixtures.Peak(model, TrainableSet.All(model), 16) + 4096;
        var options = new FtteOptions(Concurrency: 10, BufferSize: 2, Contribution: new ContributionOptions(Steps: 5, Optimizer: FtteFixtures.Sgd),
            Seed: 2, StragglerFactor: 0, NestedBudgets: [MemoryBudget.Quantile(0.5)]);
        var host = new FakeHost(10, model: model, memoryOf: i => i < 3 ? small : large);
        var ftte = new FtteStrategy(options, Local, FtteFixtures.Proxy());
        ftte.Start(host);

        Assert.Equal(2, ftte.Levels.Count);
        var wStar = ftte.Levels[0].Trainable.Ranges(model);
        var bigger = ftte.Levels[1].Trainable.Ranges(model);
        bool Inside(WeightRange r) => bigger.Any(b => r.Offset >= b.Offset && r.End <= b.End);
        Assert.All(wStar, r => Assert.True(Inside(r), $"w* run {r} is not inside the larger set"));
        Assert.True(bigger.Sum(r => r.Length) > wStar.Sum(r => r.Length));
        // Small devices get w*, large ones the nested set; nobody is left out.
        Assert.Equal(0, ftte.Participation.ExcludedDevices);
        Assert.All(host.Dispatched, t => Assert.Equal(t.DeviceId < 3 ? ftte.Levels[0] : ftte.Levels[1], t.Spec));
        Assert.Contains(ftte.Notes, n => n.StartsWith("Nested level 1"));

        // Coordinate-wise merge: a w* coordinate averages both levels' updates, a coordinate only the larger set trains
        // averages the large devices' updates alone.
        var smallTask = host.Dispatched.First(t => t.DeviceId < 3);
        var largeTask = host.Dispatched.First(t => t.DeviceId >= 3);
        var before = host.Global.Weights.ToArray();
        host.Deliver(ftte, smallTask, 1f);
        host.Deliver(ftte, largeTask, 3f);
        var after = host.Global.Weights.ToArray();
        int shared = wStar[0].Offset;
        int onlyLarge = bigger.SelectMany(r => Enumerable.Range(r.Offset, r.Length)).First(j => !wStar.Any(r => j >= r.Offset && j < r.End));
        Assert.InRange(after[shared] - before[shared], 1f, 3f);
        Assert.Equal(3f * (float)(1 / Math.Sqrt(1)), after[onlyLarge] - before[onlyLarge], 4);
    }

    [Fact]
    public void SearchedSet_UnderTheMinimumBudget_ExcludesNoDevice_AndAQuantileBudgetReportsWhoIsLeftOut()
    {
        var model = FtteFixtures.Mlp();
        long small = FtteFixtures.Peak(model, TrainableSet.Parse(model, "fc3"), 16) + 4096;
        long large = FtteFixtures.Peak(model, TrainableSet.All(model), 16) + 4096;
        var options = new FtteOptions(Concurrency: 4, BufferSize: 2, Contribution: new ContributionOptions(Steps: 5, Optimizer: FtteFixtures.Sgd), Seed: 2);

        var host = new FakeHost(10, model: model, memoryOf: i => i < 3 ? small : large);
        var ftte = new FtteStrategy(options, Local, FtteFixtures.Proxy());
        ftte.Start(host);
        Assert.Equal(small, ftte.BudgetBytes);
        Assert.NotNull(ftte.Selection);
        Assert.True(ftte.Plan.PeakBytes <= small);
        Assert.Equal(0, ftte.Participation.ExcludedDevices);
        Assert.Equal(4, host.InFlight);
        Assert.All(host.Dispatched, t => Assert.Equal(Broadcast.TrainableOnly, t.Spec.Broadcast));
        Assert.Contains("contribution", ftte.Describe());

        var host2 = new FakeHost(10, model: FtteFixtures.Mlp(), memoryOf: i => i < 3 ? small : large);
        var wide = new FtteStrategy(options with { Budget = MemoryBudget.Quantile(0.5) }, Local, FtteFixtures.Proxy());
        wide.Start(host2);
        Assert.Equal(large, wide.BudgetBytes);
        Assert.True(wide.Selection!.Contribution >= ftte.Selection!.Contribution);
        // The larger budget buys a larger set that the three small devices cannot hold: they are left out and said to be.
        Assert.True(wide.Plan.PeakBytes > small, wide.Describe());
        Assert.Equal(3, wide.Participation.ExcludedDevices);
        Assert.DoesNotContain(host2.Dispatched, t => t.DeviceId < 3);
    }

    [Fact]
    public void SearchWithoutAProxySet_IsRefused_ButBaselinesRunWithoutOne()
    {
        Assert.Throws<ArgumentException>(() => new FtteStrategy(new FtteOptions(), Local));
        var host = new FakeHost(5);
        var lastK = new FtteStrategy(new FtteOptions(Concurrency: 2, Selection: SelectionMethod.LastK), Local);
        lastK.Start(host);
        Assert.Equal(SelectionMethod.LastK, lastK.Selection!.Method);
        Assert.Equal(TrainableSet.All(host.Global.Model).ToString(), lastK.Spec.TrainableKey); // plenty of memory: every layer fits
    }
}
