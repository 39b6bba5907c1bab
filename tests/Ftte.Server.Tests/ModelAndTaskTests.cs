using Ftte.Engine;
using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Server.Tests;

/// <summary>GetModel paging by offset, and the task life cycle calls around it (GetTask, Heartbeat).</summary>
public sealed class ModelAndTaskTests
{
    [Fact]
    public async Task Model_reassembled_from_small_chunks_is_version_0_bit_for_bit()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1, chunkBytes: 1024));
        var a = await test.EnrolAsync("a");
        Assert.Equal(1024, a.Enrolment.ChunkBytes);

        var (payload, chunks) = await Download(test, a, new V1.GetModelRequest { Version = -1, Part = V1.ModelPart.Full });
        Assert.True(chunks > 10, $"{payload.Length} bytes in {chunks} chunks");
        Assert.Equal(a.Enrolment.MaxUpdateBytes, payload.Length);

        var expected = Payloads.For(a).Model;  // ModelSource.Load with the server's spec, seed and shape
        var received = expected.Clone();
        received.Weights.Clear();
        Assert.Equal(received.Parameters.Count, ParameterSerializer.Deserialize(received, payload));
        Assert.True(expected.Weights.SequenceEqual(received.Weights), "GetModel's version 0 differs from ModelSource.Load with the same seed");
        Assert.Equal(a.Enrolment.Model.ParameterCount, received.ParameterCount);

        // A trainable part pages the same way and holds exactly that set's channels.
        var (part, _) = await Download(test, a, new V1.GetModelRequest { Version = 0, Part = V1.ModelPart.Trainable, Trainable = "fc3" });
        var fc3 = expected.Clone();
        fc3.Weights.Clear();
        ParameterSerializer.DeserializeExact(fc3, TrainableSet.Parse(fc3, "fc3"), part);
        foreach (var range in TrainableSet.Parse(fc3, "fc3").Ranges(fc3))
            Assert.True(expected.Weights.Slice(range.Offset, range.Length).SequenceEqual(fc3.Weights.Slice(range.Offset, range.Length)));
    }

    [Fact]
    public async Task A_new_run_starts_from_initialWeights_and_a_wrong_file_leaves_no_run_behind()
    {
        string dir = Directory.CreateTempSubdirectory("ftte-server-initial-").FullName;
        try
        {
            string wrong = Path.Combine(dir, "lenet.fttp");
            File.WriteAllBytes(wrong, ParameterSerializer.Serialize(Ftte.Engine.Models.BuiltInModels.LeNet(seed: 1)));
            var e = Assert.Throws<Ftte.Core.Config.ConfigException>(() => FederationServer.Open(Path.Combine(dir, "state.db"),
                TestServer.Config(chunkBytes: 1024) with { InitialWeights = wrong }, TestServer.Secret));
            Assert.Contains("initialWeights", e.Message, StringComparison.Ordinal);

            var (pretrained, path) = SavePretrained(dir);
            await using var test = await TestServer.StartAsync(TestServer.Config(chunkBytes: 1024) with { InitialWeights = path }, dir);
            await AssertVersion0Is(test, pretrained);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_run_that_ended_before_saving_version_0_takes_it_from_initialWeights_on_the_next_start()
    {
        string dir = Directory.CreateTempSubdirectory("ftte-server-initial-").FullName;
        try
        {
            var (pretrained, path) = SavePretrained(dir);
            var config = TestServer.Config(chunkBytes: 1024) with { InitialWeights = path };
            await using (await TestServer.StartAsync(config, dir)) { }
            // What a crash between creating the run and saving version 0 leaves behind.
            using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir, "state.db")};Pooling=False"))
            {
                c.Open();
                using var cmd = c.CreateCommand();
                cmd.CommandText = "DELETE FROM versions";
                cmd.ExecuteNonQuery();
            }

            await using var test = await TestServer.StartAsync(config, dir);
            await AssertVersion0Is(test, pretrained);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The run's mlp on digits (64 inputs, 10 classes) from another seed than the run's, saved in <paramref name="dir"/>.</summary>
    private static (Model Model, string Path) SavePretrained(string dir)
    {
        var pretrained = Ftte.Engine.Models.ModelSource.Load("mlp", 99, new Shape([64]), 10);
        string path = Path.Combine(dir, "mlp.fttp");
        File.WriteAllBytes(path, ParameterSerializer.Serialize(pretrained));
        return (pretrained, path);
    }

    private static async Task AssertVersion0Is(TestServer test, Model expected)
    {
        var a = await test.EnrolAsync("a");
        var (payload, _) = await Download(test, a, new V1.GetModelRequest { Version = -1, Part = V1.ModelPart.Full });
        var received = expected.Clone();
        received.Weights.Clear();
        ParameterSerializer.DeserializeExact(received, null, payload);
        Assert.True(expected.Weights.SequenceEqual(received.Weights), "version 0 is not the initial weights file");
    }

    private static async Task<(byte[] Payload, int Chunks)> Download(TestServer test, Device device, V1.GetModelRequest request)
    {
        using var assembled = new MemoryStream();
        string? sha = null;
        long total = -1;
        int chunks = 0;
        while (total < 0 || assembled.Length < total)
        {
            var page = request.Clone();
            page.Offset = assembled.Length;
            var chunk = await test.Call(FederationMethods.GetModel, page, V1.ModelChunk.Parser, device.Token);
            Assert.Equal(assembled.Length, chunk.Offset);
            Assert.True(chunk.Data.Length is > 0 and <= 1024 || chunk.Data.Length == chunk.TotalBytes - chunk.Offset, $"chunk of {chunk.Data.Length} bytes");
            if (sha is null) { sha = chunk.Sha256; total = chunk.TotalBytes; }
            Assert.Equal(sha, chunk.Sha256);
            Assert.Equal(total, chunk.TotalBytes);
            Assert.Equal(0, chunk.Version);
            chunk.Data.WriteTo(assembled);
            chunks++;
            Assert.True(chunks < 10_000, "GetModel does not advance");
        }
        var payload = assembled.ToArray();
        Assert.Equal(sha, TestServer.Sha256(payload));
        return (payload, chunks);
    }

    [Fact]
    public async Task GetModel_refuses_bad_offsets_versions_and_sets()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var a = await test.EnrolAsync("a");
        long size = a.Enrolment.MaxUpdateBytes;

        await TestServer.Refused(StatusCode.OutOfRange,
            () => test.Call(FederationMethods.GetModel, new V1.GetModelRequest { Version = -1, Offset = size + 1 }, V1.ModelChunk.Parser, a.Token),
            $"offset {size + 1}", "outside");
        await TestServer.Refused(StatusCode.NotFound,
            () => test.Call(FederationMethods.GetModel, new V1.GetModelRequest { Version = 42 }, V1.ModelChunk.Parser, a.Token),
            "version 42", "not kept");
        await TestServer.Refused(StatusCode.InvalidArgument,
            () => test.Call(FederationMethods.GetModel, new V1.GetModelRequest { Version = -1, Part = V1.ModelPart.Trainable, Trainable = "conv9" }, V1.ModelChunk.Parser, a.Token),
            "conv9");
        var status = await test.StatusAsync();
        Assert.Equal(1, status.Refusals["bad-offset"]);
        Assert.Equal(1, status.Refusals["unknown-version"]);
        Assert.Equal(1, status.Refusals["bad-trainable"]);
        await test.AssertRunGoesOn(a, "bad-trainable");
    }

    [Fact]
    public async Task Tasks_are_numbered_from_1_and_heartbeats_keep_or_give_them_up()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 1));
        var a = await test.EnrolAsync("a");
        var task = await test.TaskAsync(a);
        Assert.True(task.TaskId >= 1, "task_id 0 means 'no task' on the wire");
        Assert.Equal(task.TaskId, (await test.TaskAsync(a)).TaskId); // polling again hands over the same task

        var alive = await test.Call(FederationMethods.Heartbeat, new V1.HeartbeatRequest(), V1.HeartbeatReply.Parser, a.Token);
        Assert.False(alive.TaskCancelled);
        var working = await test.Call(FederationMethods.Heartbeat, new V1.HeartbeatRequest { TaskId = task.TaskId }, V1.HeartbeatReply.Parser, a.Token);
        Assert.False(working.TaskCancelled);

        var abandon = await test.Call(FederationMethods.Heartbeat, new V1.HeartbeatRequest { TaskId = task.TaskId, AbandonReason = "plan does not fit" },
            V1.HeartbeatReply.Parser, a.Token);
        Assert.True(abandon.TaskCancelled);
        // Its upload is no longer taken, and the device gets another task.
        await TestServer.Refused(StatusCode.FailedPrecondition,
            () => test.UploadAsync(a, task.TaskId, Payloads.For(a).Delta(task.Trainable, 1e-3f)), $"task {task.TaskId}", "plan does not fit");
        var next = await test.TaskAsync(a);
        Assert.NotEqual(task.TaskId, next.TaskId);
        await test.SubmitValidAsync(a, next);
    }

    [Fact]
    public async Task Before_min_devices_enrol_a_poll_waits_with_the_reason()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(minDevices: 2));
        var a = await test.EnrolAsync("a");
        var reply = await test.Call(FederationMethods.GetTask, new V1.GetTaskRequest { WaitSeconds = 1 }, V1.GetTaskReply.Parser, a.Token);
        Assert.Equal(V1.GetTaskReply.OutcomeOneofCase.Wait, reply.OutcomeCase);
        Assert.Contains("1 more device", reply.Wait.Reason);
        Assert.False(reply.Wait.RunFinished);

        // The second enrolment starts the strategy: both devices have a task at once.
        var b = await test.EnrolAsync("b");
        await test.TaskAsync(a);
        await test.TaskAsync(b);
    }
}
