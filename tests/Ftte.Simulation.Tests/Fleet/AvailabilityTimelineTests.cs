namespace Ftte.Simulation.Tests.Fleet;

// Inside the namespace: from here the name DeviceFleet would otherwise resolve to this test namespace.
using Ftte.Simulation.Fleet;

public sealed class AvailabilityTimelineTests
{
    private const double Hour = 3600, Day = 86_400;

    [Fact]
    public void Always_AnyTime_OnlineAndNeverChanges()
    {
        var timeline = new AvailabilityTimeline(Availability.Always, seed: 1);

        Assert.True(timeline.IsOnline(0));
        Assert.True(timeline.IsOnline(1e9));
        Assert.Equal(double.PositiveInfinity, timeline.NextChange(123));
        Assert.Equal(250.0, timeline.OnlineSeconds(50, 300));
    }

    [Fact]
    public void Markov_LongRun_OnlineFractionIsOnOverOnPlusOff()
    {
        var spec = Availability.Markov(meanOnSeconds: 600, meanOffSeconds: 200);
        const double horizon = 1e7; // ~12,500 on/off cycles per seed

        for (ulong seed = 1; seed <= 3; seed++)
        {
            var timeline = new AvailabilityTimeline(spec, seed);
            double fraction = timeline.OnlineSeconds(0, horizon) / horizon;
            Assert.InRange(fraction, 0.75 - 0.02, 0.75 + 0.02);
        }
    }

    [Fact]
    public void Markov_WindowLengths_ExponentialWithGivenMeans()
    {
        var timeline = new AvailabilityTimeline(Availability.Markov(600, 200), seed: 7);
        var on = new List<double>();
        var off = new List<double>();

        double t = 0;
        while (on.Count + off.Count < 20_000)
        {
            double next = timeline.NextChange(t);
            (timeline.IsOnline(t) ? on : off).Add(next - t);
            t = next;
        }

        // Mean within 5 % (≈ 7 standard errors); an exponential's standard deviation equals its mean.
        Assert.InRange(on.Average(), 570, 630);
        Assert.InRange(off.Average(), 190, 210);
        double sd = Math.Sqrt(on.Select(x => (x - on.Average()) * (x - on.Average())).Average());
        Assert.InRange(sd / on.Average(), 0.9, 1.1);
        Assert.All(on.Concat(off), length => Assert.True(length > 0));
    }

    [Fact]
    public void Markov_InitialState_DrawnFromStationaryDistribution()
    {
        var spec = Availability.Markov(300, 100);

        int online = 0;
        const int seeds = 4000;
        for (ulong seed = 0; seed < seeds; seed++)
            if (new AvailabilityTimeline(spec, seed).IsOnline(0)) online++;

        Assert.InRange(online / (double)seeds, 0.75 - 0.03, 0.75 + 0.03);
    }

    [Fact]
    public void Markov_DifferentSeeds_DifferentWindows()
    {
        var spec = Availability.Markov(600, 200);

        double a = new AvailabilityTimeline(spec, 1).NextChange(0);
        double b = new AvailabilityTimeline(spec, 2).NextChange(0);

        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Daily_WindowPastMidnight_ExactOnOffTimes()
    {
        // Online 22:00 → 06:00 (8 h, wrapping); t = 0 is midnight, so the run starts online.
        var timeline = new AvailabilityTimeline(Availability.Daily(startHour: 22, hours: 8), seed: 0);

        Assert.True(timeline.IsOnline(0));
        Assert.True(timeline.IsOnline(6 * Hour - 1e-6));
        Assert.False(timeline.IsOnline(6 * Hour));
        Assert.False(timeline.IsOnline(22 * Hour - 1e-6));
        Assert.True(timeline.IsOnline(22 * Hour));
        Assert.True(timeline.IsOnline(Day + 5 * Hour));
        Assert.Equal(6 * Hour, timeline.NextChange(0));
        Assert.Equal(22 * Hour, timeline.NextChange(6 * Hour));
        Assert.Equal(30 * Hour, timeline.NextChange(22 * Hour));
        Assert.Equal(Day + 22 * Hour, timeline.NextChange(Day + 12 * Hour));
    }

    [Fact]
    public void Daily_OnlineSeconds_CountsWholeAndPartialWindows()
    {
        var timeline = new AvailabilityTimeline(Availability.Daily(22, 8), seed: 0);

        Assert.Equal(8 * Hour, timeline.OnlineSeconds(0, Day), 6);
        Assert.Equal(24 * Hour, timeline.OnlineSeconds(0, 3 * Day), 6);
        Assert.Equal(4 * Hour, timeline.OnlineSeconds(3 * Hour, 23 * Hour), 6); // 03–06 and 22–23
        Assert.Equal(0, timeline.OnlineSeconds(7 * Hour, 21 * Hour));
    }

    [Fact]
    public void Daily_WindowWithinDay_OffAtMidnight()
    {
        var timeline = new AvailabilityTimeline(Availability.Daily(9.5, 2), seed: 0);

        Assert.False(timeline.IsOnline(0));
        Assert.Equal(9.5 * Hour, timeline.NextChange(0));
        Assert.Equal(11.5 * Hour, timeline.NextChange(9.5 * Hour));
        Assert.Equal(Day + 9.5 * Hour, timeline.NextChange(11.5 * Hour));
    }

    [Fact]
    public void Daily_TwentyFourHours_AlwaysOnline()
    {
        var timeline = new AvailabilityTimeline(Availability.Daily(7, 24), seed: 0);

        Assert.True(timeline.IsOnline(3 * Hour));
        Assert.Equal(double.PositiveInfinity, timeline.NextChange(3 * Hour));
    }

    public static TheoryData<string> Kinds => ["markov", "daily"];

    private static Availability SpecOf(string kind) =>
        kind == "markov" ? Availability.Markov(90, 30) : Availability.Daily(20.25, 7.5);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void NextChange_AtTheChange_StateFlipsAndHoldsBefore(string kind)
    {
        var timeline = new AvailabilityTimeline(SpecOf(kind), seed: 11);

        double t = 0;
        for (int i = 0; i < 500; i++)
        {
            bool state = timeline.IsOnline(t);
            double next = timeline.NextChange(t);
            Assert.True(next > t);
            Assert.Equal(state, timeline.IsOnline((t + next) / 2));
            Assert.Equal(next, timeline.NextChange((t + next) / 2));
            Assert.NotEqual(state, timeline.IsOnline(next));
            t = next;
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Queries_ShuffledOrder_SameAnswers(string kind)
    {
        Availability spec = SpecOf(kind);
        var rng = new Ftte.Core.Rng(3);
        double[] times = Enumerable.Range(0, 400).Select(_ => rng.NextDouble() * 3 * Day).Order().ToArray();
        var inOrder = new AvailabilityTimeline(spec, seed: 5);
        var expected = times.Select(t => (inOrder.IsOnline(t), inOrder.NextChange(t), inOrder.OnlineSeconds(t, t + 3 * Hour))).ToArray();

        int[] order = Enumerable.Range(0, times.Length).ToArray();
        rng.Shuffle(order.AsSpan());
        var shuffled = new AvailabilityTimeline(spec, seed: 5);
        foreach (int i in order)
        {
            double t = times[i];
            Assert.Equal(expected[i], (shuffled.IsOnline(t), shuffled.NextChange(t), shuffled.OnlineSeconds(t, t + 3 * Hour)));
        }
        // The first timeline, now far ahead, answers the earliest time as it did the first time.
        Assert.Equal(expected[0], (inOrder.IsOnline(times[0]), inOrder.NextChange(times[0]), inOrder.OnlineSeconds(times[0], times[0] + 3 * Hour)));
    }

    [Fact]
    public void OnlineSeconds_EqualsSumOfOnlineWindows()
    {
        var timeline = new AvailabilityTimeline(Availability.Markov(50, 70), seed: 9);
        var reference = new AvailabilityTimeline(Availability.Markov(50, 70), seed: 9);

        double sum = 0, t = 0;
        const double to = 10_000;
        while (t < to)
        {
            double next = Math.Min(reference.NextChange(t), to);
            if (reference.IsOnline(t)) sum += next - t;
            t = next;
        }

        Assert.Equal(sum, timeline.OnlineSeconds(0, to), 9);
    }

    [Theory]
    [InlineData(AvailabilityKind.Markov, 0, 100, 0, 24, "MeanOnSeconds")]
    [InlineData(AvailabilityKind.Markov, 100, -1, 0, 24, "MeanOffSeconds")]
    [InlineData(AvailabilityKind.Daily, 0, 0, 24, 8, "DailyStartHour")]
    [InlineData(AvailabilityKind.Daily, 0, 0, -1, 8, "DailyStartHour")]
    [InlineData(AvailabilityKind.Daily, 0, 0, 8, 0, "DailyHours")]
    [InlineData(AvailabilityKind.Daily, 0, 0, 8, 25, "DailyHours")]
    public void Constructor_InvalidSpec_ThrowsNamingTheField(AvailabilityKind kind, double on, double off, double start, double hours, string field)
    {
        var spec = new Availability(kind, on, off, start, hours);

        var e = Assert.Throws<ArgumentException>(() => new AvailabilityTimeline(spec, 0));

        Assert.Equal(field, e.ParamName);
        Assert.Contains(field, e.Message);
        Assert.Contains("expected", e.Message);
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void IsOnline_InvalidTime_Throws(double t)
    {
        var timeline = new AvailabilityTimeline(Availability.Markov(1, 1), 0);

        Assert.Throws<ArgumentOutOfRangeException>(() => timeline.IsOnline(t));
    }

    [Fact]
    public void OnlineSeconds_ToBeforeFrom_Throws()
    {
        var timeline = new AvailabilityTimeline(Availability.Always, 0);

        Assert.Throws<ArgumentOutOfRangeException>(() => timeline.OnlineSeconds(10, 5));
    }
}
