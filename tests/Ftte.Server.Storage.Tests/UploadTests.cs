namespace Ftte.Server.Storage.Tests;

public class UploadTests
{
    private const long Cap = 10_000;

    [Fact]
    public void Chunks_append_in_order_and_concatenate()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), tasks: 2);
        byte[] payload = Sample.Bytes(7000, 3);
        Assert.Equal(0, store.AcknowledgedBytes(0));
        long acknowledged = 0;
        foreach (int size in new[] { 1000, 1, 2999, 3000 })
        {
            long next = store.AppendChunk(0, acknowledged, payload.AsSpan((int)acknowledged, size), Cap);
            Assert.Equal(acknowledged + size, next);
            acknowledged = next;
        }
        Assert.Equal(7000, store.AcknowledgedBytes(0));
        Assert.Equal(payload, store.LoadUpload(0));
        Assert.Empty(store.LoadUpload(1)); // other tasks are separate
        Assert.Equal(0, store.AcknowledgedBytes(1));
    }

    [Fact]
    public void A_resent_chunk_is_acknowledged_again_without_changing_the_upload()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), tasks: 1);
        byte[] payload = Sample.Bytes(300, 4);
        store.AppendChunk(0, 0, payload.AsSpan(0, 100), Cap);
        store.AppendChunk(0, 100, payload.AsSpan(100, 100), Cap);

        Assert.Equal(200, store.AppendChunk(0, 100, payload.AsSpan(100, 100), Cap)); // ack was lost
        Assert.Equal(200, store.AppendChunk(0, 0, Sample.Bytes(150, 99), Cap));      // older and different: ignored
        Assert.Equal(200, store.AppendChunk(0, 200, ReadOnlySpan<byte>.Empty, Cap));
        Assert.Equal(300, store.AppendChunk(0, 200, payload.AsSpan(200, 100), Cap));
        Assert.Equal(payload, store.LoadUpload(0));
    }

    [Fact]
    public void A_gap_or_an_oversized_upload_is_refused()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), tasks: 1);
        store.AppendChunk(0, 0, Sample.Bytes(100, 1), Cap);

        var gap = Assert.Throws<StoreException>(() => store.AppendChunk(0, 101, Sample.Bytes(10, 2), Cap));
        Assert.Contains("gap", gap.Message);
        var cap = Assert.Throws<StoreException>(() => store.AppendChunk(0, 100, Sample.Bytes(9901, 3), Cap));
        Assert.Contains("limit", cap.Message);
        Assert.Equal(100, store.AcknowledgedBytes(0));

        Assert.Equal(Cap, store.AppendChunk(0, 100, Sample.Bytes(9900, 3), Cap)); // exactly the cap is fine
        Assert.Throws<StoreException>(() => store.AppendChunk(0, Cap, Sample.Bytes(1, 4), Cap));
        Assert.Throws<StoreException>(() => store.AppendChunk(5, 0, Sample.Bytes(1, 4), Cap)); // unknown task
        Assert.Throws<ArgumentOutOfRangeException>(() => store.AppendChunk(0, -1, Sample.Bytes(1, 4), Cap));
    }

    [Fact]
    public void An_upload_resumes_after_reopen_and_can_be_deleted()
    {
        using var temp = new TempStore();
        byte[] payload = Sample.Bytes(5000, 8);
        using (var store = Sample.Seed(temp.Open(), tasks: 1))
        {
            store.AppendChunk(0, 0, payload.AsSpan(0, 2000), Cap);
            store.AppendChunk(0, 2000, payload.AsSpan(2000, 1000), Cap);
        }
        using var reopened = temp.Open();
        Assert.Equal(3000, reopened.AcknowledgedBytes(0));
        Assert.Equal(3000, reopened.AppendChunk(0, 2000, payload.AsSpan(2000, 1000), Cap));
        Assert.Equal(5000, reopened.AppendChunk(0, 3000, payload.AsSpan(3000), Cap));
        Assert.Equal(payload, reopened.LoadUpload(0));

        reopened.DeleteUpload(0);
        Assert.Equal(0, reopened.AcknowledgedBytes(0));
        Assert.Empty(reopened.LoadUpload(0));
        Assert.Equal(10, reopened.AppendChunk(0, 0, payload.AsSpan(0, 10), Cap));
    }
}
