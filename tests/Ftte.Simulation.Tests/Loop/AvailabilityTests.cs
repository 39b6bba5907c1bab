using Ftte.Federation;
using Ftte.Simulation.Fleet;

namespace Ftte.Simulation.Tests.Loop;

/// <summary>Devices work only while online: tasks fail when a window closes, and nobody is dispatched to outside one.</summary>
public class AvailabilityTests
{
    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedasync")]
    [InlineData("fedbuff")]
    public void MarkovDevicesGoingOfflineMidTask_FailTasks_WithoutAnyDropout(string kind)
    {
        // Tasks take about a second; windows average two seconds on and two off, so many close mid-task.
        var devices = Enumerable.Range(0, 12)
            .Select(i => SimulationFixtures.Device(i, availability: Availability.Markov(meanOnSeconds: 2, meanOffSeconds: 2), dropout: 0))
            .ToArray();
        var sim = SimulationFixtures.Create(devices, new SimulationOptions { MaxSeconds = 60, EvalEverySeconds = 10, Workers = 2, Seed = 8 });
        var probe = new ProbeStrategy(SimulationFixtures.Baseline(kind));
        var run = sim.Run(probe);

        Assert.True(run.Summary.TasksFailed > 0, "some windows close mid-task");
        Assert.Contains(probe.Failures, f => f.Reason == FailureReason.WentOffline);
        Assert.DoesNotContain(probe.Failures, f => f.Reason == FailureReason.Dropout);
        Assert.True(run.Summary.UpdatesAccepted > 0, "tasks that fit in a window still arrive");
        // Offline devices are idle in no sense: idle time counts online time only, so busy + idle < devices × run time.
        var last = run.Points[^1];
        Assert.True(last.DeviceBusySeconds + last.DeviceIdleSeconds < 0.8 * devices.Length * last.Time);
    }

    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedasync")]
    [InlineData("fedbuff")]
    public void DailyDevices_GetTasksOnlyInsideTheirWindow(string kind)
    {
        // Online 01:00–03:00 every day (t = 0 is midnight): nothing can happen in the first hour.
        const double open = 3600, close = 3 * 3600;
        var devices = Enumerable.Range(0, 10).Select(i => SimulationFixtures.Device(i, availability: Availability.Daily(startHour: 1, hours: 2))).ToArray();
        var sim = SimulationFixtures.Create(devices, new SimulationOptions { MaxSeconds = open + 30, EvalEverySeconds = 5, Workers = 2, Seed = 2 });
        var probe = new ProbeStrategy(SimulationFixtures.Baseline(kind));
        var run = sim.Run(probe);

        Assert.NotEmpty(probe.Dispatches);
        Assert.All(probe.Dispatches, d => Assert.InRange(d.Time, open, close));
        Assert.Equal(open, probe.Dispatches.Min(d => d.Time));
        var firstUpdate = run.Points.First(p => p.UpdatesReceived > 0);
        Assert.True(firstUpdate.Time >= open, $"first update at t={firstUpdate.Time}");
        Assert.True(run.Summary.UpdatesAccepted > 0);
        // Before the window, nobody was online: no idle time either.
        Assert.All(run.Points.Where(p => p.Time <= open), p => Assert.Equal(0, p.DeviceIdleSeconds));
    }

    [Theory]
    [InlineData("fedavg")]
    [InlineData("fedasync")]
    [InlineData("fedbuff")]
    public void NobodyOnlineDuringTheRun_EndsWithANote(string kind)
    {
        // Online at noon only; the run lasts one hour from midnight.
        var devices = Enumerable.Range(0, 6).Select(i => SimulationFixtures.Device(i, availability: Availability.Daily(startHour: 12, hours: 1))).ToArray();
        var sim = SimulationFixtures.Create(devices, new SimulationOptions { MaxSeconds = 3600, Workers = 1 });
        var probe = new ProbeStrategy(SimulationFixtures.Baseline(kind));
        var run = sim.Run(probe);

        Assert.Empty(probe.Dispatches);
        Assert.Equal(0, run.Summary.Tasks);
        Assert.Equal(0, run.Summary.FinalVersion);
        Assert.Equal(0, run.Summary.BytesDown);
        Assert.Equal(run.Points[0].TestAccuracy, run.Summary.FinalAccuracy);
        Assert.Equal(3600, run.Summary.EndTime);
        Assert.NotEmpty(run.Summary.Notes);
        Assert.Contains(run.Summary.Notes, n => n.Contains("No task", StringComparison.Ordinal));
    }
}
