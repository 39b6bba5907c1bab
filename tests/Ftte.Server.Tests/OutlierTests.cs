using Ftte.Protocol;

namespace Ftte.Server.Tests;

/// <summary>The server's outlier test: an update far above the recent accepted ones is refused before the strategy sees it.</summary>
public sealed class OutlierTests
{
    [Fact]
    public async Task An_update_far_above_recent_ones_is_refused_as_an_outlier_and_the_run_goes_on()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1, concurrency: 1));
        var a = await test.EnrolAsync("a");
        for (int i = 0; i < 20; i++) await test.SubmitValidAsync(a); // RMS 1e-3 each

        // 1e-2: ten times the median, well inside maxUpdateNorm, but an outlier.
        var task = await test.TaskAsync(a);
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, Payloads.For(a).Delta(task.Trainable, 1e-2f)),
            "outlier", "robust standard deviations", "median");
        Assert.Equal(1, (await test.StatusAsync()).Refusals["outlier"]);

        // Ordinary updates are still taken.
        await test.SubmitValidAsync(a);
        Assert.Equal(21, (await test.StatusAsync()).UpdatesAccepted);
    }

    [Fact]
    public async Task A_restarted_server_judges_the_first_update_against_the_history_before_the_restart()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1, concurrency: 1));
        var a = await test.EnrolAsync("a");
        for (int i = 0; i < 20; i++) await test.SubmitValidAsync(a);

        await test.RestartAsync(config: null);

        var task = await test.TaskAsync(a);
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, Payloads.For(a).Delta(task.Trainable, 1e-2f)),
            "outlier", "median of recent accepted updates of its trainable set");
        await test.SubmitValidAsync(a);
    }

    [Fact]
    public async Task With_outlierZ_0_the_test_is_off()
    {
        var config = TestServer.Config(minDevices: 1, concurrency: 1);
        await using var test = await TestServer.StartAsync(config with { Server = config.Server with { OutlierZ = 0 } });
        var a = await test.EnrolAsync("a");
        for (int i = 0; i < 20; i++) await test.SubmitValidAsync(a);
        var task = await test.TaskAsync(a);
        var reply = await test.UploadAsync(a, task.TaskId, Payloads.For(a).Delta(task.Trainable, 1e-2f));
        Assert.Equal(Ftte.Protocol.V1.Verdict.Accepted, reply.Verdict);
    }
}
