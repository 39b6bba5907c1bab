namespace Ftte.Server.Storage.Tests;

public class CommitVersionTests
{
    [Fact]
    public void Commit_applies_exactly_the_pending_set_plus_the_triggering_update()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), devices: 2, tasks: 8);
        store.AddPending(Sample.Update(2, 0));
        store.AddPending(Sample.Update(0, 0));
        store.AddPending(Sample.Update(1, 1));
        var trigger = Sample.Update(3, 1);

        var w1 = Sample.Weights(64, 11);
        Assert.Equal(3, store.CommitVersion(1, w1, Sample.T0.AddMinutes(1), trigger));
        Assert.Empty(store.LoadPending());
        Assert.Equal(4, store.AppliedUpdateCount());
        Assert.Equal([0L, 1, 2, 3], store.AppliedTaskIds());
        var (version, weights) = store.LoadLatestVersion()!.Value;
        Assert.Equal(1, version);
        Sample.AssertBitwise(w1, weights);

        // Updates accepted after the commit wait for the next one.
        store.AddPending(Sample.Update(5, 0));
        store.AddPending(Sample.Update(4, 1));
        Assert.Equal(2, store.CommitVersion(2, Sample.Weights(64, 12), Sample.T0.AddMinutes(2), null));
        Assert.Equal(6, store.AppliedUpdateCount());
        Assert.Equal([0L, 1, 2, 3, 4, 5], store.AppliedTaskIds());

        Assert.Equal(0, store.CommitVersion(3, Sample.Weights(64, 13), Sample.T0.AddMinutes(3), null));
        Assert.Equal(6, store.AppliedUpdateCount());
    }

    [Theory]
    [InlineData(3, new[] { 0, 8, 9, 10 })]
    [InlineData(1, new[] { 0, 10 })]
    [InlineData(20, new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })]
    public void Commit_keeps_version_0_and_the_newest_versions(int keep, int[] expected)
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open());
        for (int v = 1; v <= 10; v++) store.CommitVersion(v, Sample.Weights(64, v), Sample.T0.AddMinutes(v), null, keep);
        Assert.Equal(expected, store.StoredVersions());
        Sample.AssertBitwise(Sample.Weights(64, 0), store.LoadVersion(0));
        Sample.AssertBitwise(Sample.Weights(64, 10), store.LoadVersion(10));
    }

    [Fact]
    public void A_refused_commit_changes_nothing()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), tasks: 4);
        store.AddPending(Sample.Update(0, 0));
        store.AddPending(Sample.Update(1, 0));
        store.CommitVersion(1, Sample.Weights(64, 1), Sample.T0, null);
        store.AddPending(Sample.Update(2, 0));

        // Not newer than the stored version.
        Assert.Throws<StoreException>(() => store.CommitVersion(1, Sample.Weights(64, 9), Sample.T0, null));
        // The triggering update is already pending (it would be applied twice).
        Assert.Throws<StoreException>(() => store.CommitVersion(2, Sample.Weights(64, 9), Sample.T0, Sample.Update(2, 0)));
        // The triggering update was applied before (a replay).
        Assert.Throws<StoreException>(() => store.CommitVersion(2, Sample.Weights(64, 9), Sample.T0, Sample.Update(0, 0)));
        // The triggering update's task does not exist.
        Assert.Throws<StoreException>(() => store.CommitVersion(2, Sample.Weights(64, 9), Sample.T0, Sample.Update(99, 0)));

        Assert.Equal([2L], store.LoadPending().Select(u => u.TaskId));
        Assert.Equal([0L, 1], store.AppliedTaskIds());
        Assert.Equal([0, 1], store.StoredVersions());
        Sample.AssertBitwise(Sample.Weights(64, 1), store.LoadVersion(1));
    }

    [Fact]
    public void An_applied_update_cannot_be_buffered_again()
    {
        using var temp = new TempStore();
        using var store = Sample.Seed(temp.Open(), tasks: 2);
        store.AddPending(Sample.Update(0, 0));
        store.CommitVersion(1, Sample.Weights(64, 1), Sample.T0, Sample.Update(1, 0));
        Assert.Throws<StoreException>(() => store.AddPending(Sample.Update(0, 0)));
        Assert.Throws<StoreException>(() => store.AddPending(Sample.Update(1, 0)));
        Assert.Empty(store.LoadPending());
    }
}
