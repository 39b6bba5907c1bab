using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>Who may call what: the enrolment secret, bearer tokens, their expiry, and tasks belonging to one device.</summary>
public sealed class AuthTests
{
    [Fact]
    public async Task Call_without_a_token_is_unauthenticated()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 2));
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");

        await TestServer.Refused(StatusCode.Unauthenticated,
            () => test.Call(FederationMethods.GetTask, new V1.GetTaskRequest { WaitSeconds = 1 }, V1.GetTaskReply.Parser, token: null),
            "missing authorization", "Bearer");
        await test.AssertRunGoesOn(b, "no-token");
    }

    [Fact]
    public async Task Unknown_token_is_unauthenticated()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 2));
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");

        await TestServer.Refused(StatusCode.Unauthenticated,
            () => test.Call(FederationMethods.Heartbeat, new V1.HeartbeatRequest(), V1.HeartbeatReply.Parser, token: "not-a-token"),
            "unknown", "token", "enrol again");
        await test.AssertRunGoesOn(b, "bad-token");
    }

    [Fact]
    public async Task A_token_is_refused_for_another_devices_task()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 2));
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");
        var taskOfB = await test.TaskAsync(b);
        var payload = Payloads.For(b).Delta(taskOfB.Trainable, 1e-3f);

        // A uploads to B's task with A's own (valid) token.
        await TestServer.Refused(StatusCode.PermissionDenied,
            () => test.SubmitAsync(a, TestServer.Chunk(taskOfB.TaskId, payload, 0, payload.Length)),
            $"task {taskOfB.TaskId}", "not given to this device");
        // ... or heartbeats it, or gives it up on B's behalf.
        await TestServer.Refused(StatusCode.PermissionDenied,
            () => test.Call(FederationMethods.Heartbeat, new V1.HeartbeatRequest { TaskId = taskOfB.TaskId, AbandonReason = "not mine" }, V1.HeartbeatReply.Parser, a.Token),
            "not given to this device");

        // B's task is untouched: B's own upload of it is accepted.
        var reply = await test.UploadAsync(b, taskOfB.TaskId, payload);
        Assert.Equal(V1.Verdict.Accepted, reply.Verdict);
        var status = await test.StatusAsync();
        Assert.Equal(2, status.Refusals["foreign-task"]);
        Assert.Equal(status.Refusals.Values.Sum(), status.UpdatesRefused);
        await test.AssertRunGoesOn(a, "foreign-task", expectedCount: 2);
    }

    [Fact]
    public async Task Expired_token_is_unauthenticated_and_re_enrolment_keeps_the_device()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1, tokenLifetime: 1));
        var asked = DateTimeOffset.UtcNow;
        var a = await test.EnrolAsync("a");
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(a.Enrolment.TokenExpiresUnixMs);
        Assert.InRange((expires - asked).TotalSeconds, 0.9, 1.0 + (DateTimeOffset.UtcNow - asked).TotalSeconds + 0.01);
        var left = expires - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(50);
        if (left > TimeSpan.Zero) await Task.Delay(left);

        await TestServer.Refused(StatusCode.Unauthenticated, () => test.TaskAsync(a), "expired", "enrol again");

        var again = await test.EnrolAsync("a");
        Assert.Equal(a.Id, again.Id);
        Assert.NotEqual(a.Token, again.Token);
        await test.AssertRunGoesOn(again, "expired-token");
    }

    [Fact]
    public async Task Wrong_enrolment_secret_is_unauthenticated()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        await TestServer.Refused(StatusCode.Unauthenticated,
            () => test.Call(FederationMethods.Enrol, new V1.EnrolRequest { Secret = "guess", DeviceName = "intruder", Capabilities = TestServer.Capabilities() }, V1.EnrolReply.Parser),
            "wrong enrolment secret");
        var status = await test.StatusAsync();
        Assert.Equal(0, status.DevicesEnrolled);

        var a = await test.EnrolAsync("a");
        await test.AssertRunGoesOn(a, "bad-secret");
    }

    [Fact]
    public async Task Bad_capabilities_are_refused_naming_the_field()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var caps = TestServer.Capabilities();
        caps.FlopsPerSecond = double.NaN;
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.Call(FederationMethods.Enrol, new V1.EnrolRequest { Secret = TestServer.Secret, DeviceName = "x", Capabilities = caps }, V1.EnrolReply.Parser),
            "flops_per_second");
        var a = await test.EnrolAsync("a");
        await test.AssertRunGoesOn(a, "bad-enrol");
    }
}
