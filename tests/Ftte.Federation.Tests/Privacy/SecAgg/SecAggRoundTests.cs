using Ftte.Core;
using Ftte.Federation.Privacy.SecAgg;

namespace Ftte.Federation.Tests.Privacy.SecAgg;

public class SecAggRoundTests
{
    [Fact]
    public void Finish_CompleteGraphNoDropouts_EqualsPlainSumExactly()
    {
        var inputs = TestRound.RandomInputs(5, 37);
        using var round = new TestRound(TestRound.Complete(clients: 5, threshold: 3, length: 37));

        var result = round.Run(inputs);

        Assert.Equal(TestRound.PlainSum(inputs, Enumerable.Range(0, 5)), result.Sum);
        Assert.Equal([0, 1, 2, 3, 4], result.Survivors);
        Assert.Empty(result.Dropped);
        Assert.Empty(result.SuspectedClients);
        Assert.Equal(ServerPhase.Done, round.Server.Phase);
    }

    [Fact]
    public void Finish_SparseGraphWithDropoutsInEveryPhase_EqualsSurvivorsPlainSum()
    {
        var parameters = SecAggParameters.Recommend(roundId: 3, clients: 40, vectorLength: 1000, dropoutRate: 0.1, graphSeed: 5);
        Assert.True(parameters.Neighbours < 39, "40 clients at 10% dropouts should get a sparse graph");
        var inputs = TestRound.RandomInputs(40, 1000);
        var drops = new DropPlan { BeforeAdvertise = [2], BeforeShare = [9], BeforeInput = [17, 30], BeforeUnmask = [33] };
        using var round = new TestRound(parameters);

        var result = round.Run(inputs, drops);

        var survivors = Enumerable.Range(0, 40).Except([2, 9, 17, 30]).ToArray();
        Assert.Equal(survivors, result.Survivors);
        Assert.Equal([17, 30], result.Dropped);
        Assert.Equal(TestRound.PlainSum(inputs, survivors), result.Sum);
    }

    [Fact]
    public void Finish_FloatUpdates_DecodeToPlainSumWithinQuantisationError()
    {
        const int clients = 12, length = 513;
        var encoding = FixedPointEncoding.ForSummands(clip: 0.5, summands: clients);
        var rng = new Rng(21);
        var updates = Enumerable.Range(0, clients).Select(_ => Enumerable.Range(0, length).Select(_ => rng.Uniform(-0.5f, 0.5f)).ToArray()).ToArray();
        var inputs = updates.Select(u => { var w = new uint[length]; encoding.Encode(u, w); return w; }).ToArray();
        using var round = new TestRound(TestRound.Complete(clients, threshold: 8, length));

        var result = round.Run(inputs, new DropPlan { BeforeInput = [4] });
        var decoded = new float[length];
        encoding.Decode(result.Sum, decoded);

        double bound = encoding.MaxSumError(clients - 1) + 1e-6;   // plus float32 rounding of a sum of ~±3
        for (int i = 0; i < length; i++)
        {
            double plain = Enumerable.Range(0, clients).Where(c => c != 4).Sum(c => (double)updates[c][i]);
            Assert.True(Math.Abs(decoded[i] - plain) <= bound, $"coordinate {i}: {decoded[i]} vs {plain}, bound {bound}");
        }
    }

    [Fact]
    public void Finish_WeightedEncodings_GiveTheWeightedMean()
    {
        const int clients = 6, length = 9;
        var encoding = FixedPointEncoding.ForSummands(clip: 1, summands: clients);
        var rng = new Rng(8);
        var deltas = Enumerable.Range(0, clients).Select(_ => Enumerable.Range(0, length).Select(_ => rng.Uniform(-1, 1)).ToArray()).ToArray();
        double[] weights = [1, 0.5, 0.25, 0.8, 0.1, 0.7];
        var inputs = deltas.Select((d, c) => { var w = new uint[length + 1]; encoding.EncodeWeighted(d, weights[c], w); return w; }).ToArray();
        using var round = new TestRound(TestRound.Complete(clients, threshold: 4, length + 1));

        var result = round.Run(inputs);
        var mean = new float[length];
        double total = encoding.DecodeWeightedMean(result.Sum, mean);

        Assert.Equal(weights.Sum(), total, 6);
        for (int i = 0; i < length; i++)
            Assert.Equal(Enumerable.Range(0, clients).Sum(c => weights[c] * deltas[c][i]) / weights.Sum(), mean[i], 5);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Finish_DropoutsUpToTheThreshold_AreSurvived(int dropped)
    {
        // 10 clients, t = 7: any 3 may drop after sharing keys; their pairwise masks are rebuilt and removed.
        var inputs = TestRound.RandomInputs(10, 40);
        int[] gone = [.. Enumerable.Range(0, dropped).Select(i => 2 * i + 1)];
        using var round = new TestRound(TestRound.Complete(10, threshold: 7, length: 40));

        var result = round.Run(inputs, new DropPlan { BeforeInput = gone });

        Assert.Equal(gone, result.Dropped);
        Assert.Equal(TestRound.PlainSum(inputs, Enumerable.Range(0, 10).Except(gone)), result.Sum);
    }

    [Fact]
    public void CloseMasking_OneDropoutMoreThanTheThresholdAllows_ThrowsNamingSurvivorsAndThreshold()
    {
        var inputs = TestRound.RandomInputs(10, 40);
        using var round = new TestRound(TestRound.Complete(10, threshold: 7, length: 40));
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);

        var error = Assert.Throws<SecAggThresholdException>(() => round.Mask(deliveries, inputs, new DropPlan { BeforeInput = [1, 3, 5, 7] }));

        Assert.Equal(6, error.Survived);
        Assert.Equal(7, error.Threshold);
        Assert.Equal(SecAggError.BelowThreshold, error.Error);
        Assert.Contains("6 of 10 clients survived", error.Message);
        Assert.Contains("the threshold is 7", error.Message);
        Assert.Equal(ServerPhase.Failed, round.Server.Phase);
    }

    [Fact]
    public void CanCloseMasking_BeforeEnoughInputs_SaysWhyAndCloseLaterSucceeds()
    {
        var inputs = TestRound.RandomInputs(6, 8);
        using var round = new TestRound(TestRound.Complete(6, threshold: 4, length: 8));
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        foreach (var d in deliveries) round.Clients[d.RecipientId].ReceiveShares(d);
        for (int c = 0; c < 3; c++) round.Server.Receive(round.Clients[c].MaskInput(inputs[c]));

        Assert.False(round.Server.CanCloseMasking(out var reason));
        Assert.Contains("3 of 6 clients survived", reason);

        round.Server.Receive(round.Clients[3].MaskInput(inputs[3]));
        Assert.True(round.Server.CanCloseMasking(out _));
        var result = round.Unmask(round.Server.CloseMasking(), DropPlan.None);
        Assert.Equal(TestRound.PlainSum(inputs, [0, 1, 2, 3]), result.Sum);
    }

    [Fact]
    public void Finish_DropoutsDuringUnmasking_UpToThresholdSurvived_OneMoreRefused()
    {
        var inputs = TestRound.RandomInputs(9, 16);
        var parameters = TestRound.Complete(9, threshold: 6, length: 16);
        using (var round = new TestRound(parameters))
        {
            var result = round.Run(inputs, new DropPlan { BeforeInput = [0], BeforeUnmask = [1, 2] });   // 6 of 8 answer
            Assert.Equal(TestRound.PlainSum(inputs, Enumerable.Range(1, 8)), result.Sum);
        }
        using (var round = new TestRound(parameters))
        {
            var error = Assert.Throws<SecAggThresholdException>(() => round.Run(inputs, new DropPlan { BeforeInput = [0], BeforeUnmask = [1, 2, 3] }));
            Assert.Equal(5, error.Survived);
            Assert.Equal(6, error.Threshold);
            Assert.Contains("5 of the 8 survivors answered", error.Message);
        }
    }

    [Fact]
    public void CloseMasking_SparseNeighbourhoodLosesOneHolderTooMany_Throws()
    {
        // k = 6, t = 4 of 7 holders: a client survives 3 dropped neighbours, not 4.
        var parameters = TestRound.Sparse(clients: 30, neighbours: 6, threshold: 4, length: 8);
        int victim = 12;
        var neighbours = parameters.CreateGraph().NeighboursOf(victim);
        var inputs = TestRound.RandomInputs(30, 8);

        using (var round = new TestRound(parameters))
        {
            var result = round.Run(inputs, new DropPlan { BeforeInput = neighbours[..3] });
            Assert.Equal(TestRound.PlainSum(inputs, Enumerable.Range(0, 30).Except(neighbours[..3])), result.Sum);
        }
        using (var round = new TestRound(parameters))
        {
            var error = Assert.Throws<SecAggThresholdException>(() => round.Run(inputs, new DropPlan { BeforeInput = neighbours[..4] }));
            Assert.Equal(26, error.Survived);
            Assert.Equal(4, error.Threshold);
            Assert.True(error.SharesAvailable < 4);
            Assert.Contains("the threshold is 4", error.Message);
        }
    }

    [Fact]
    public void CloseAdvertising_FewerClientsThanTheThreshold_Throws()
    {
        using var round = new TestRound(TestRound.Complete(5, threshold: 4));

        var error = Assert.Throws<SecAggThresholdException>(() => round.Advertise(new DropPlan { BeforeAdvertise = [0, 1] }));

        Assert.Equal(3, error.Survived);
        Assert.Contains("only 3 of 5 clients advertised keys; the threshold is 4", error.Message);
    }

    [Fact]
    public void CloseSharing_ClientWithTooFewHolders_IsLeftOutAndTheRoundStillSums()
    {
        // k = 4, t = 3 of 5 holders. If 3 of client c's 4 neighbours never share, c keeps 2 holders (itself and one) < 3:
        // it is left out of U2, nobody masks with it, and the rest still sum.
        var parameters = TestRound.Sparse(clients: 20, neighbours: 4, threshold: 3, length: 8);
        int c = 5;
        var gone = parameters.CreateGraph().NeighboursOf(c)[..3];
        var inputs = TestRound.RandomInputs(20, 8);
        using var round = new TestRound(parameters);

        var deliveries = round.Share(round.Advertise(DropPlan.None), new DropPlan { BeforeShare = gone });

        Assert.DoesNotContain(c, round.Server.Sharing);
        Assert.DoesNotContain(deliveries, d => d.RecipientId == c);
        var result = round.Unmask(round.Mask(deliveries, inputs, DropPlan.None), DropPlan.None);
        Assert.Equal(TestRound.PlainSum(inputs, round.Server.Sharing), result.Sum);
    }

    [Fact]
    public void Run_SameSeeds_GiveIdenticalMessagesAndSum()
    {
        var parameters = TestRound.Sparse(clients: 16, neighbours: 6, threshold: 4, length: 100);
        var inputs = TestRound.RandomInputs(16, 100);
        using var a = new TestRound(parameters, seed: 42);
        using var b = new TestRound(parameters, seed: 42);

        var advertA = a.Clients.Select(c => c.AdvertiseKeys()).ToArray();
        var advertB = b.Clients.Select(c => c.AdvertiseKeys()).ToArray();
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(advertA[i].MaskPublicKey, advertB[i].MaskPublicKey);
            Assert.Equal(advertA[i].SelfMaskCommitment, advertB[i].SelfMaskCommitment);
            a.Server.Receive(advertA[i]);
            b.Server.Receive(advertB[i]);
        }
        var deliveriesA = a.Share(a.Server.CloseAdvertising(), DropPlan.None);
        var deliveriesB = b.Share(b.Server.CloseAdvertising(), DropPlan.None);
        Assert.Equal(deliveriesA.SelectMany(d => d.Shares.Select(s => s.Ciphertext)), deliveriesB.SelectMany(d => d.Shares.Select(s => s.Ciphertext)));
        foreach (var (da, db) in deliveriesA.Zip(deliveriesB))
        {
            a.Clients[da.RecipientId].ReceiveShares(da);
            b.Clients[db.RecipientId].ReceiveShares(db);
            var ma = a.Clients[da.RecipientId].MaskInput(inputs[da.RecipientId]);
            var mb = b.Clients[db.RecipientId].MaskInput(inputs[db.RecipientId]);
            Assert.Equal(ma.Values, mb.Values);
            a.Server.Receive(ma);
            b.Server.Receive(mb);
        }
        Assert.Equal(a.Unmask(a.Server.CloseMasking(), DropPlan.None).Sum, b.Unmask(b.Server.CloseMasking(), DropPlan.None).Sum);
    }

    [Fact]
    public void Run_DifferentSeeds_GiveDifferentMasksButTheSameSum()
    {
        var parameters = TestRound.Complete(4, threshold: 3, length: 32);
        var inputs = TestRound.RandomInputs(4, 32);
        using var a = new TestRound(parameters, seed: 1);
        using var b = new TestRound(parameters, seed: 2);
        MaskedInput? firstA = null, firstB = null;

        var sumA = a.Unmask(CaptureFirst(a, inputs, m => firstA ??= m), DropPlan.None).Sum;
        var sumB = b.Unmask(CaptureFirst(b, inputs, m => firstB ??= m), DropPlan.None).Sum;

        Assert.NotEqual(firstA!.Values, firstB!.Values);
        Assert.Equal(sumA, sumB);
    }

    [Fact]
    public void ClientSession_WithoutSeed_DrawsFreshKeys()
    {
        var parameters = TestRound.Complete(3, threshold: 2);
        using var a = new ClientSession(parameters, 0);
        using var b = new ClientSession(parameters, 0);

        Assert.NotEqual(a.AdvertiseKeys().MaskPublicKey, b.AdvertiseKeys().MaskPublicKey);
    }

    [Fact]
    public void Messages_WireBytes_CountTheDocumentedLayout()
    {
        using var round = new TestRound(TestRound.Complete(4, threshold: 3, length: 10));
        var advert = round.Clients[0].AdvertiseKeys();

        Assert.Equal(8 + 4 + 64 + 64 + 32, advert.WireBytes);
        Assert.Equal(8 + 4 + 4 + 4 * 10, new MaskedInput(7, 0, new uint[10]).WireBytes);
        Assert.Equal(4 + 4 + 80, new EncryptedShare(0, 1, new byte[80]).WireBytes);
    }

    private static IReadOnlyList<UnmaskRequest> CaptureFirst(TestRound round, uint[][] inputs, Action<MaskedInput> capture)
    {
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        foreach (var d in deliveries)
        {
            round.Clients[d.RecipientId].ReceiveShares(d);
            var masked = round.Clients[d.RecipientId].MaskInput(inputs[d.RecipientId]);
            capture(masked);
            round.Server.Receive(masked);
        }
        return round.Server.CloseMasking();
    }
}
