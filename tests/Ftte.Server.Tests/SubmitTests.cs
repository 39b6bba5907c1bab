using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>
/// SubmitUpdate against bad input: every refusal names the problem with the right status code, is counted by reason,
/// and the run goes on (another device's valid update is still accepted).
/// </summary>
public sealed class SubmitTests
{
    private static async Task<(TestServer Test, Device A, V1.TaskAssignment TaskA, Device B)> TwoDevices()
    {
        var test = await TestServer.StartAsync(TestServer.Config(minDevices: 2));
        var a = await test.EnrolAsync("a");
        var b = await test.EnrolAsync("b");
        var taskA = await test.TaskAsync(a);
        return (test, a, taskA, b);
    }

    [Fact]
    public async Task Wrong_total_bytes_is_refused_as_the_wrong_shape()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);

        var e = await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, 0, 100, totalBytes: payload.Length + 4)),
            $"must be {payload.Length:N0} bytes", task.Trainable);
        await test.AssertRunGoesOn(b, "wrong-shape");
        // The task is still A's (nothing was stored): the right upload is accepted.
        Assert.Equal(V1.Verdict.Accepted, (await test.UploadAsync(a, task.TaskId, payload)).Verdict);
    }

    [Fact]
    public async Task Payload_for_a_different_trainable_set_is_refused()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        // Declared honestly, its size gives it away.
        var fc3Only = Payloads.For(a).Delta("fc3", 1e-3f);
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, fc3Only), "must be", "bytes", task.Trainable);

        // The same size but the other half of fc2's channels: every byte count matches, the channel list does not.
        var otherHalf = "fc2=" + string.Join(";", Enumerable.Range(32, 32).Select(c => "c" + c)) + ",fc3";
        var sameLength = Payloads.For(a).Delta(otherHalf, 1e-3f);
        Assert.Equal(Payloads.For(a).Delta(task.Trainable, 1e-3f).Length, sameLength.Length);
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, sameLength), $"task {task.TaskId} refused", "malformed payload", "fc2.weight", "channels");

        await test.AssertRunGoesOn(b, "malformed");
        var status = await test.StatusAsync();
        Assert.Equal(1, status.Refusals["wrong-shape"]);
    }

    [Fact]
    public async Task Malformed_payload_is_refused_and_its_device_gets_a_new_task()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);
        payload[0] = (byte)'X'; // not "FTTP"

        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, payload), "malformed payload", "header");
        // A refused update ends its task; A is given a new one.
        var next = await test.TaskAsync(a);
        Assert.NotEqual(task.TaskId, next.TaskId);
        await test.AssertRunGoesOn(b, "malformed");
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public async Task Non_finite_values_are_refused(float poison)
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).DeltaWith(task.Trainable, poison);

        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, payload), "non-finite value", poison.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await test.AssertRunGoesOn(b, "non-finite");
        // The model never saw it: still version 0, and the version-0 payload is finite.
        Assert.Equal(0, (await test.StatusAsync()).Version);
    }

    [Fact]
    public async Task Absurd_norm_is_refused()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 50f); // norm ≈ 50·√4778 ≫ maxUpdateNorm 100

        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, payload), "update norm", "exceeds the limit 100");
        await test.AssertRunGoesOn(b, "norm");
    }

    [Fact]
    public async Task Samples_outside_the_declared_range_are_refused()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);

        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.UploadAsync(a, task.TaskId, payload, samples: 100_000), "samples 100000", "1–200");
        await test.AssertRunGoesOn(b, "bad-metadata");
    }

    [Fact]
    public async Task Sha256_mismatch_discards_the_upload_and_a_resend_is_accepted()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);
        string wrong = TestServer.Sha256([1, 2, 3]);

        await TestServer.Refused(StatusCode.DataLoss,
            () => test.UploadAsync(a, task.TaskId, payload, sha256: wrong), "does not match its sha256", "from offset 0");
        var ask = await test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, 0, 0));
        Assert.Equal(0, ask.AcknowledgedBytes);
        await test.AssertRunGoesOn(b, "hash-mismatch");
        // The task stays A's: the same payload with the right hash is accepted.
        Assert.Equal(V1.Verdict.Accepted, (await test.UploadAsync(a, task.TaskId, payload)).Verdict);
    }

    [Fact]
    public async Task Unknown_task_is_not_found()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);

        await TestServer.Refused(StatusCode.NotFound,
            () => test.SubmitAsync(a, TestServer.Chunk(987_654, payload, 0, 100)), "no task 987654");
        await test.AssertRunGoesOn(b, "unknown-task");
    }

    [Fact]
    public async Task Replay_of_a_submitted_task_already_exists()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);
        Assert.Equal(V1.Verdict.Accepted, (await test.UploadAsync(a, task.TaskId, payload)).Verdict);
        long accepted = (await test.StatusAsync()).UpdatesAccepted;

        await TestServer.Refused(StatusCode.AlreadyExists,
            () => test.UploadAsync(a, task.TaskId, payload), $"task {task.TaskId}", "already submitted", "replay");
        Assert.Equal(accepted, (await test.StatusAsync()).UpdatesAccepted);
        await test.AssertRunGoesOn(b, "replay");
    }

    [Fact]
    public async Task Chunk_at_a_gap_is_out_of_range_and_names_where_to_resume()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);
        int chunk = a.Enrolment.ChunkBytes;
        Assert.True(payload.Length > 2 * chunk, $"payload {payload.Length} should need 3+ chunks of {chunk}");

        var first = await test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, 0, chunk));
        Assert.Equal(chunk, first.AcknowledgedBytes);
        await TestServer.Refused(StatusCode.OutOfRange,
            () => test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, 2 * chunk, payload.Length - 2 * chunk)), "gap", $"resume from {chunk}");
        await test.AssertRunGoesOn(b, "bad-offset");

        // Nothing was lost: the upload goes on from the acknowledged offset.
        V1.SubmitReply reply = first;
        for (int offset = chunk; offset < payload.Length; offset += chunk)
            reply = await test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, offset, Math.Min(chunk, payload.Length - offset)));
        Assert.Equal(V1.Verdict.Accepted, reply.Verdict);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(long.MinValue)]
    public async Task Negative_offset_is_out_of_range(long offset)
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);
        var chunk = TestServer.Chunk(task.TaskId, payload, 0, 100);
        chunk.Offset = offset;

        await TestServer.Refused(StatusCode.OutOfRange, () => test.SubmitAsync(a, chunk), $"offset {offset}", "resume from 0");
        await test.AssertRunGoesOn(b, "bad-offset");
        Assert.Equal(V1.Verdict.Accepted, (await test.UploadAsync(a, task.TaskId, payload)).Verdict);
    }

    [Fact]
    public async Task Chunked_upload_resumes_from_the_acknowledged_offset()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);
        int chunk = 4096;
        int half = payload.Length / 2 / chunk * chunk;
        Assert.True(half > 0);

        for (int offset = 0; offset < half; offset += chunk)
        {
            var r = await test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, offset, chunk));
            Assert.Equal(V1.Verdict.Pending, r.Verdict);
            Assert.Equal(offset + chunk, r.AcknowledgedBytes);
        }
        // "The connection dropped": ask where to resume with an empty chunk.
        var ask = await test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, 0, 0));
        Assert.Equal(V1.Verdict.Pending, ask.Verdict);
        Assert.Equal(half, ask.AcknowledgedBytes);
        // A chunk sent twice (its acknowledgement was lost) is acknowledged again, not appended again.
        var again = await test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, half - chunk, chunk));
        Assert.Equal(half, again.AcknowledgedBytes);

        V1.SubmitReply reply = ask;
        for (int offset = half; offset < payload.Length; offset += chunk)
            reply = await test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, offset, Math.Min(chunk, payload.Length - offset)));
        Assert.Equal(V1.Verdict.Accepted, reply.Verdict);
        Assert.Equal(payload.Length, reply.AcknowledgedBytes);
        var status = await test.StatusAsync();
        Assert.Equal(1, status.UpdatesAccepted);
        Assert.Equal(0, status.UpdatesRefused);
    }

    [Fact]
    public async Task Chunk_larger_than_the_chunk_size_is_refused()
    {
        var (test, a, task, b) = await TwoDevices();
        await using var _ = test;
        var payload = Payloads.For(a).Delta(task.Trainable, 1e-3f);
        int chunk = a.Enrolment.ChunkBytes;

        await TestServer.Refused(StatusCode.ResourceExhausted,
            () => test.SubmitAsync(a, TestServer.Chunk(task.TaskId, payload, 0, chunk + 1)), "exceeds the server's chunk size");
        await test.AssertRunGoesOn(b, "chunk-too-large");
    }
}
