using Ftte.Federation.Privacy.SecAgg;

namespace Ftte.Federation.Tests.Privacy.SecAgg;

/// <summary>Wrong shares, wrong lengths, replays and over-asking are refused with the reason; refusing changes nothing.</summary>
public class MaliciousInputTests
{
    private static readonly SecAggParameters Five = TestRound.Complete(5, threshold: 3, length: 16);

    // ---- wrong shares -----------------------------------------------------------------------------------------

    [Fact]
    public void ReceiveShares_TamperedEnvelope_FailsAuthenticationAndTheClientStops()
    {
        using var round = new TestRound(Five);
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        var original = deliveries[2];
        var bad = original.Shares[1].Ciphertext.ToArray();
        bad[5] ^= 0x01;
        var tampered = original with { Shares = [.. original.Shares.Select((s, i) => i == 1 ? s with { Ciphertext = bad } : s)] };

        var error = Assert.Throws<SecAggException>(() => round.Clients[2].ReceiveShares(tampered));

        Assert.Equal(SecAggError.AuthenticationFailed, error.Error);
        Assert.Contains($"from client {original.Shares[1].From} to client 2 failed AES-GCM authentication", error.Message);
        Assert.Equal(ClientPhase.Failed, round.Clients[2].Phase);
    }

    [Fact]
    public void ReceiveShares_EnvelopeReaddressedToAnotherClient_FailsAuthentication()
    {
        using var round = new TestRound(Five);
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        // The server passes client 0's envelope for client 1 to client 3 instead (and fixes the To field).
        var stolen = deliveries[1].Shares.Single(s => s.From == 0) with { To = 3 };
        var forged = deliveries[3] with { Shares = [.. deliveries[3].Shares.Select(s => s.From == 0 ? stolen : s)] };

        var error = Assert.Throws<SecAggException>(() => round.Clients[3].ReceiveShares(forged));

        Assert.Equal(SecAggError.AuthenticationFailed, error.Error);
    }

    [Fact]
    public void Finish_WrongRevealedShareWithExactlyTShares_IsRefusedAsInconsistent()
    {
        // 5 clients, t = 3, 2 drop before input: each survivor's b has exactly 3 holders left — no spare.
        var inputs = TestRound.RandomInputs(5, 16);
        using var round = new TestRound(Five);
        var requests = round.Mask(round.Share(round.Advertise(DropPlan.None), DropPlan.None), inputs, new DropPlan { BeforeInput = [3, 4] });

        var error = Assert.Throws<SecAggException>(() => round.Unmask(requests, DropPlan.None, r => r.ClientId == 1 ? Corrupt(r, owner: 0) : r));

        Assert.Equal(SecAggError.InconsistentShares, error.Error);
        Assert.Contains("self-mask shares of client 0", error.Message);
        Assert.Contains("no spare", error.Message);
        Assert.Equal(ServerPhase.Failed, round.Server.Phase);
    }

    [Fact]
    public void Finish_WrongRevealedShareWithASpare_IsLeftOutAndItsHolderReported()
    {
        var inputs = TestRound.RandomInputs(5, 16);
        using var round = new TestRound(Five);
        var requests = round.Mask(round.Share(round.Advertise(DropPlan.None), DropPlan.None), inputs, new DropPlan { BeforeInput = [4] });

        // Client 0's own share is the first used; corrupting it forces the leave-one-out search.
        var result = round.Unmask(requests, DropPlan.None, r => r.ClientId == 0 ? Corrupt(r, owner: 0) : r);

        Assert.Equal(TestRound.PlainSum(inputs, [0, 1, 2, 3]), result.Sum);
        Assert.Equal([0], result.SuspectedClients);
    }

    [Fact]
    public void Finish_WrongMaskKeyShareWithASpare_IsLeftOutAndItsHolderReported()
    {
        var inputs = TestRound.RandomInputs(5, 16);
        using var round = new TestRound(Five);
        var requests = round.Mask(round.Share(round.Advertise(DropPlan.None), DropPlan.None), inputs, new DropPlan { BeforeInput = [4] });

        var result = round.Unmask(requests, DropPlan.None, r => r.ClientId == 2
            ? r with { MaskKeyShares = [.. r.MaskKeyShares.Select(s => s with { Share = Flip(s.Share) })] }
            : r);

        Assert.Equal(TestRound.PlainSum(inputs, [0, 1, 2, 3]), result.Sum);
        Assert.Equal([2], result.SuspectedClients);
    }

    // ---- wrong lengths ----------------------------------------------------------------------------------------

    [Fact]
    public void ReceiveMaskedInput_WrongLength_IsRefusedAndTheRightOneStillAccepted()
    {
        var inputs = TestRound.RandomInputs(5, 16);
        using var round = new TestRound(Five);
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        round.Clients[0].ReceiveShares(deliveries[0]);
        var masked = round.Clients[0].MaskInput(inputs[0]);

        var error = Assert.Throws<SecAggException>(() => round.Server.Receive(masked with { Values = masked.Values[..15] }));

        Assert.Equal(SecAggError.Malformed, error.Error);
        Assert.Contains("client 0 sent 15 values; round 7 aggregates vectors of 16", error.Message, StringComparison.OrdinalIgnoreCase);
        round.Server.Receive(masked);
        Assert.Equal([0], round.Server.Survivors);
    }

    [Fact]
    public void MaskInput_WrongLength_IsRefusedByTheClient()
    {
        using var round = new TestRound(Five);
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        round.Clients[0].ReceiveShares(deliveries[0]);

        var error = Assert.Throws<SecAggException>(() => round.Clients[0].MaskInput(new uint[17]));

        Assert.Equal(SecAggError.Malformed, error.Error);
        Assert.Equal(ClientPhase.SharesReceived, round.Clients[0].Phase);
    }

    [Fact]
    public void ReceiveAdvertisement_KeyNotOnTheCurve_IsRefused()
    {
        using var round = new TestRound(Five);
        var advert = round.Clients[0].AdvertiseKeys();
        var offCurve = new byte[64];
        offCurve[31] = 1;
        offCurve[63] = 1;

        var error = Assert.Throws<SecAggException>(() => round.Server.Receive(advert with { MaskPublicKey = offCurve }));

        Assert.Equal(SecAggError.Malformed, error.Error);
        Assert.Empty(round.Server.Advertised);
    }

    [Fact]
    public void ReceiveShareKeys_MissingANeighbour_IsRefused()
    {
        using var round = new TestRound(Five);
        var broadcasts = round.Advertise(DropPlan.None);
        var shares = round.Clients[0].ShareKeys(broadcasts[0]);

        var error = Assert.Throws<SecAggException>(() => round.Server.Receive(shares with { Shares = shares.Shares.Skip(1).ToArray() }));

        Assert.Contains("sent 3 shares; it has 4 neighbours with keys", error.Message);
    }

    // ---- replays ----------------------------------------------------------------------------------------------

    [Fact]
    public void ServerReceive_MessagesFromAPreviousRound_AreRefusedAsReplays()
    {
        var inputs = TestRound.RandomInputs(5, 16);
        using var previous = new TestRound(Five with { RoundId = 6 });
        var oldAdvert = previous.Clients[0].AdvertiseKeys();
        using var round = new TestRound(Five);

        var error = Assert.Throws<SecAggException>(() => round.Server.Receive(oldAdvert));
        Assert.Equal(SecAggError.WrongRound, error.Error);
        Assert.Contains("belongs to round 6, not round 7", error.Message);

        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        var oldInput = new MaskedInput(6, 1, new uint[16]);
        Assert.Equal(SecAggError.WrongRound, Assert.Throws<SecAggException>(() => round.Server.Receive(oldInput)).Error);
        Assert.Empty(round.Server.Survivors);
        _ = deliveries;
    }

    [Fact]
    public void ClientReceive_BroadcastFromAPreviousRound_IsRefused()
    {
        using var previous = new TestRound(Five with { RoundId = 6 });
        var oldBroadcasts = previous.Advertise(DropPlan.None);
        using var round = new TestRound(Five);
        round.Advertise(DropPlan.None);

        var error = Assert.Throws<SecAggException>(() => round.Clients[0].ShareKeys(oldBroadcasts[0]));

        Assert.Equal(SecAggError.WrongRound, error.Error);
        Assert.Equal(ClientPhase.KeysAdvertised, round.Clients[0].Phase);
    }

    [Fact]
    public void ReceiveShares_EnvelopeReplayedFromAPreviousRound_FailsAuthentication()
    {
        // The replayed envelope is relabelled with the current round id: the keys and associated data still differ.
        using var previous = new TestRound(Five with { RoundId = 6 });
        var oldDeliveries = previous.Share(previous.Advertise(DropPlan.None), DropPlan.None);
        using var round = new TestRound(Five);
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        var old = oldDeliveries[2].Shares[0];
        var replayed = deliveries[2] with { Shares = [.. deliveries[2].Shares.Select(s => s.From == old.From ? old : s)] };

        Assert.Equal(SecAggError.AuthenticationFailed, Assert.Throws<SecAggException>(() => round.Clients[2].ReceiveShares(replayed)).Error);
    }

    [Fact]
    public void ReceiveMaskedInput_TwiceOrAfterClosing_IsRefused()
    {
        var inputs = TestRound.RandomInputs(5, 16);
        using var round = new TestRound(Five);
        var deliveries = round.Share(round.Advertise(DropPlan.None), DropPlan.None);
        var masked = new MaskedInput[5];
        foreach (var d in deliveries)
        {
            round.Clients[d.RecipientId].ReceiveShares(d);
            masked[d.RecipientId] = round.Clients[d.RecipientId].MaskInput(inputs[d.RecipientId]);
        }
        for (int c = 0; c < 4; c++) round.Server.Receive(masked[c]);

        Assert.Equal(SecAggError.Duplicate, Assert.Throws<SecAggException>(() => round.Server.Receive(masked[0])).Error);
        round.Server.CloseMasking();
        var late = Assert.Throws<SecAggException>(() => round.Server.Receive(masked[4]));
        Assert.Equal(SecAggError.WrongPhase, late.Error);
        Assert.Contains("phase CollectingUnmasking", late.Message);
    }

    // ---- asking for both shares ------------------------------------------------------------------------------

    [Fact]
    public void Unmask_RequestForBothSharesOfOneClient_IsRefused()
    {
        var (round, requests) = ReadyToUnmask();
        using var _ = round;
        var request = requests[0] with { RevealMaskKeyOf = [2] };   // 2 survived and is also in RevealSelfMaskOf

        var error = Assert.Throws<SecAggException>(() => round.Clients[0].Unmask(request));

        Assert.Equal(SecAggError.BothSharesRequested, error.Error);
        Assert.Contains("both the self-mask share and the mask-key share of client 2", error.Message);
        Assert.Equal(ClientPhase.InputSent, round.Clients[0].Phase);
    }

    [Fact]
    public void Unmask_RequestForItsOwnMaskKey_IsRefused()
    {
        var (round, requests) = ReadyToUnmask();
        using var _ = round;
        var request = requests[0] with { RevealSelfMaskOf = [.. requests[0].RevealSelfMaskOf.Where(o => o != 0)], RevealMaskKeyOf = [0] };

        Assert.Equal(SecAggError.BothSharesRequested, Assert.Throws<SecAggException>(() => round.Clients[0].Unmask(request)).Error);
    }

    [Fact]
    public void Unmask_SecondRequest_IsRefused()
    {
        var (round, requests) = ReadyToUnmask();
        using var _ = round;
        round.Clients[0].Unmask(requests[0]);
        // A second request could ask for the shares the first one did not: refused whatever it asks.
        var second = requests[0] with { RevealSelfMaskOf = [0], RevealMaskKeyOf = [1] };

        var error = Assert.Throws<SecAggException>(() => round.Clients[0].Unmask(second));

        Assert.Equal(SecAggError.WrongPhase, error.Error);
        Assert.Contains("already answered", error.Message);
    }

    [Fact]
    public void Unmask_FewerSurvivorsThanTheThreshold_IsRefused()
    {
        var (round, requests) = ReadyToUnmask();
        using var _ = round;

        var error = Assert.Throws<SecAggThresholdException>(() => round.Clients[0].Unmask(requests[0] with { SurvivorCount = 2 }));

        Assert.Contains("reports 2 survivors, below the threshold of 3", error.Message);
    }

    [Fact]
    public void ServerReceive_ResponseRevealingSharesNotAskedFor_IsRefused()
    {
        var (round, requests) = ReadyToUnmask();
        using var _ = round;
        var honest = round.Clients[0].Unmask(requests[0]);
        var overSharing = honest with { MaskKeyShares = [.. honest.MaskKeyShares, new RevealedShare(2, new byte[32])] };   // 2 survived: its mask key is not asked for

        var error = Assert.Throws<SecAggException>(() => round.Server.Receive(overSharing));

        Assert.Equal(SecAggError.UnknownClient, error.Error);
        round.Server.Receive(honest);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void CloseMasking_AnyDropoutPattern_NeverRequestsBothSharesOfOneClient(ulong seed)
    {
        var parameters = TestRound.Sparse(clients: 24, neighbours: 8, threshold: 5, length: 4, graphSeed: seed);
        var rng = new Ftte.Core.Rng(seed);
        int[] dropped = [.. Enumerable.Range(0, 24).Where(_ => rng.NextDouble() < 0.1)];
        using var round = new TestRound(parameters, seed);

        var requests = round.Mask(round.Share(round.Advertise(DropPlan.None), DropPlan.None), TestRound.RandomInputs(24, 4), new DropPlan { BeforeInput = dropped });

        foreach (var r in requests)
        {
            Assert.Empty(r.RevealSelfMaskOf.Intersect(r.RevealMaskKeyOf));
            Assert.All(r.RevealMaskKeyOf, o => Assert.Contains(o, dropped));
            Assert.All(r.RevealSelfMaskOf, o => Assert.DoesNotContain(o, dropped));
        }
    }

    private static (TestRound Round, IReadOnlyList<UnmaskRequest> Requests) ReadyToUnmask()
    {
        var round = new TestRound(Five);
        var requests = round.Mask(round.Share(round.Advertise(DropPlan.None), DropPlan.None), TestRound.RandomInputs(5, 16), new DropPlan { BeforeInput = [1] });
        return (round, requests);
    }

    private static UnmaskResponse Corrupt(UnmaskResponse response, int owner) =>
        response with { SelfMaskShares = [.. response.SelfMaskShares.Select(s => s.Owner == owner ? s with { Share = Flip(s.Share) } : s)] };

    private static byte[] Flip(byte[] share)
    {
        var copy = share.ToArray();
        copy[^1] ^= 0x01;
        return copy;
    }
}
