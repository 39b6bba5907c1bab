namespace Ftte.Server.Storage.Tests;

public class DeltaCodecTests
{
    [Fact]
    public void Random_sparse_deltas_round_trip_bitwise()
    {
        var rng = new Random(42);
        for (int trial = 0; trial < 300; trial++)
        {
            var delta = Sample.SparseDelta(rng, rng.Next(0, 400));
            Sample.AssertBitwise(delta, Blobs.DecodeDelta(Blobs.EncodeDelta(delta), delta.Length, trial));
        }
    }

    [Fact]
    public void Only_the_trained_runs_are_stored()
    {
        var delta = new float[100_000];
        for (int i = 5000; i < 5100; i++) delta[i] = 0.5f;
        for (int i = 99_990; i < 100_000; i++) delta[i] = -1f;
        // two runs: 2 headers + 110 floats
        Assert.Equal(2 * 8 + 110 * 4, Blobs.EncodeDelta(delta).Length);
        Assert.Empty(Blobs.EncodeDelta(new float[1000]));
    }

    [Fact]
    public void Short_zero_gaps_stay_inside_a_run_and_long_ones_split_it()
    {
        float[] twoZeros = [1, 0, 0, 1];
        float[] threeZeros = [1, 0, 0, 0, 1];
        Assert.Equal(8 + 4 * 4, Blobs.EncodeDelta(twoZeros).Length);
        Assert.Equal(2 * (8 + 4), Blobs.EncodeDelta(threeZeros).Length);
        Sample.AssertBitwise(twoZeros, Blobs.DecodeDelta(Blobs.EncodeDelta(twoZeros), 4, 0));
        Sample.AssertBitwise(threeZeros, Blobs.DecodeDelta(Blobs.EncodeDelta(threeZeros), 5, 0));
    }

    [Fact]
    public void A_run_outside_the_model_is_reported_as_corruption()
    {
        byte[] blob = Blobs.EncodeDelta([0, 0, 0, 0, 1]);
        var e = Assert.Throws<StoreException>(() => Blobs.DecodeDelta(blob, 4, 17));
        Assert.Contains("17", e.Message);
        Assert.Throws<StoreException>(() => Blobs.DecodeDelta(blob.AsSpan(0, blob.Length - 1), 5, 17));
    }
}
