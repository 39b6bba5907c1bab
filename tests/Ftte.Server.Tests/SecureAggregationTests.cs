using Ftte.Federation.Config;
using Ftte.Protocol;
using Google.Protobuf;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>
/// Secure aggregation on the wire, from a hostile or confused device's side: a secure task's update is never taken in
/// the clear, the exchange answers only the device that holds the task, and a malformed or impersonating message is
/// refused with INVALID_ARGUMENT naming the problem, counted, while the group goes on.
/// </summary>
public sealed class SecureAggregationTests
{
    /// <summary>FTTE over three devices in one group of three (K = 2), updates summed under SecAgg.</summary>
    private static ServerConfig Secure() => TestServer.Config(minDevices: 3, concurrency: 3, bufferSize: 2, trainable: "fc3") with
    {
        Strategy = new StrategyConfig
        {
            Kind = StrategyKind.Ftte, Trainable = "fc3", Concurrency = 3, BufferSize = 2, StragglerFactor = 0, Weighting = "none",
            SecureAggregation = new SecureAggregationConfig { GroupSize = 3 },
        },
    };

    private static Task<V1.SecAggReply> Poll(TestServer test, Device device, V1.SecAggRequest request) =>
        test.Call(FederationMethods.SecureAggregation, request, V1.SecAggReply.Parser, device.Token);

    [Fact]
    public async Task A_secure_task_never_travels_in_the_clear_and_its_exchange_answers_only_its_device()
    {
        await using var test = await TestServer.StartAsync(Secure());
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");
        var c = await test.EnrolAsync("c");
        var task = await test.TaskAsync(a);
        var other = await test.TaskAsync(b);
        await test.TaskAsync(c);
        Assert.Equal(32, task.Secure.RingBits);
        Assert.Equal(SecureWire.MaskedCodec, task.Codec);

        // Δ in the parameter format: refused before anything is stored.
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, Payloads.For(a).Delta(task.Trainable, 1e-3f)), "secure aggregation", "masked");
        // Another device's exchange.
        await TestServer.Refused(StatusCode.PermissionDenied,
            () => Poll(test, a, new V1.SecAggRequest { TaskId = other.TaskId, WaitSeconds = 1 }), "not given to this device");

        // The group of three sealed at dispatch: the invitation is waiting.
        var invitation = (await Poll(test, a, new V1.SecAggRequest { TaskId = task.TaskId, WaitSeconds = 5 })).Invitation;
        Assert.NotNull(invitation);
        Assert.Equal(3, invitation.Parameters.ClientCount);

        // Keys that are not P-256 points.
        var bad = new V1.SecAggAdvertise
        {
            RoundId = invitation.Parameters.RoundId, ClientId = invitation.MemberIndex,
            MaskPublicKey = ByteString.CopyFrom(new byte[64]), SharePublicKey = ByteString.CopyFrom(new byte[64]), SelfMaskCommitment = ByteString.CopyFrom(new byte[32]),
        };
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => Poll(test, a, new V1.SecAggRequest { TaskId = task.TaskId, WaitSeconds = 1, Advertise = bad }), "P-256");
        // Speaking for another member of the group.
        var member = new Ftte.Federation.Privacy.SecAgg.SecureMember(new(SecureWire.FromWire(invitation.Parameters), (invitation.MemberIndex + 1) % 3));
        var impersonation = SecureWire.ToWire(member.Advertise());
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => Poll(test, a, new V1.SecAggRequest { TaskId = task.TaskId, WaitSeconds = 1, Advertise = impersonation }), "speaks for member");
        // A masked input of the wrong size.
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, new byte[40], codec: SecureWire.MaskedCodec), "must be");

        var status = await test.StatusAsync();
        Assert.Equal(1, status.Refusals["not-masked"]);
        Assert.Equal(2, status.Refusals["secagg"]);
        Assert.Equal(0, status.UpdatesAccepted);
    }
}
