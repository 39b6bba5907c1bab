using Ftte.Core;
using Ftte.Federation.Privacy;
using Ftte.Federation.Privacy.SecAgg;
using Ftte.Protocol;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Client;

/// <summary>
/// A device's side of one secure task's SecAgg exchange (the SecureAggregation call), run beside its training: answers
/// the invitation with keys and the neighbours' keys with encrypted shares while it trains, then holds the shares
/// and encoding plan until <see cref="MaskAsync"/>; after the masked upload it answers the unmasking request. Every
/// poll carries the answer to the previous message, so a group costs the device one call per round.
/// </summary>
internal sealed class SecureExchange(GrpcChannel channel, Func<string> token, long taskId, TimeSpan longPoll, Action<string> log) : IDisposable
{
    private readonly TaskCompletionSource _shares = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _poll;
    private SecureMember? _member;
    private volatile bool _ready;

    public long BytesDown { get; private set; }
    public long BytesUp { get; private set; }
    /// <summary>Why the exchange ended before the device could mask (cut from its group, run over), null while it goes on.</summary>
    public string? Ended { get; private set; }

    /// <summary>Polls until the server says this task's part is over (or the token is cancelled).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var request = new V1.SecAggRequest { TaskId = taskId };
        int failures = 0;
        long taken = 0;                       // seq of the last server message handled (acknowledged on the next poll)
        V1.SecAggRequest? answered = null;    // the request that carried the answer to it, to resend if it comes again
        try
        {
            while (!ct.IsCancellationRequested)
            {
                request.WaitSeconds = (int)longPoll.TotalSeconds;
                request.Ready = _ready;
                request.Ack = taken;
                _pollCarriesAnswer = request.AnswerCase != V1.SecAggRequest.AnswerOneofCase.None;
                V1.SecAggReply reply;
                using (_poll = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    try
                    {
                        BytesUp += request.CalculateSize();
                        reply = await channel.CallAsync(FederationMethods.SecureAggregation, request, V1.SecAggReply.Parser, token(), longPoll + TimeSpan.FromSeconds(10), _poll.Token).ConfigureAwait(false);
                        BytesDown += reply.CalculateSize();
                        failures = 0;
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        continue;   // woken to tell the server we are ready: poll again at once
                    }
                    catch (RpcException e) when (e.Status is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal && ++failures <= 20)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5000, 100 << Math.Min(failures, 6))), ct).ConfigureAwait(false);
                        continue;
                    }
                }
                if (reply.Seq != 0 && reply.Seq == taken && answered is not null)
                {
                    // Our answer (or its ack) was lost: the server sent the same message again; so do we.
                    request = answered.Clone();
                    continue;
                }
                request = new V1.SecAggRequest { TaskId = taskId };
                if (reply.Seq != 0) taken = reply.Seq;
                switch (reply.MessageCase)
                {
                    case V1.SecAggReply.MessageOneofCase.Invitation:
                        _member?.Dispose();
                        _member = new SecureMember(new GroupInvitation(SecureWire.FromWire(reply.Invitation.Parameters), reply.Invitation.MemberIndex));
                        request.Advertise = SecureWire.ToWire(_member.Advertise());
                        break;
                    case V1.SecAggReply.MessageOneofCase.Keys:
                        request.ShareKeys = SecureWire.ToWire(Member().Share(SecureWire.FromWire(reply.Keys)));
                        break;
                    case V1.SecAggReply.MessageOneofCase.Delivery:
                        var (delivery, plan) = SecureWire.FromWire(reply.Delivery);
                        Member().Receive(delivery, plan);
                        _shares.TrySetResult();
                        break;
                    case V1.SecAggReply.MessageOneofCase.UnmaskRequest:
                        request.Unmask = SecureWire.ToWire(Member().Unmask(SecureWire.FromWire(reply.UnmaskRequest)));
                        break;
                    case V1.SecAggReply.MessageOneofCase.Done:
                        End(reply.Done.Detail);
                        return;
                    case V1.SecAggReply.MessageOneofCase.Wait when reply.Wait.RunFinished:
                        End(reply.Wait.Reason);
                        return;
                }
                answered = request.Clone();
            }
        }
        catch (Exception e) when (e is SecAggException or FormatException or RpcException)
        {
            // A message this device cannot follow (or refused by the server): it leaves the group, which treats it as a dropout.
            log($"Task {taskId}: secure aggregation stopped — {e.Message}");
            End(e.Message);
        }
        finally
        {
            End("cancelled");
        }
    }

    /// <summary>
    /// Training is done: tell the server at once (it may seal the group early) instead of at the next poll — by cutting
    /// the current long poll short, unless it carries an answer (the next poll says it then).
    /// </summary>
    public void MarkReady()
    {
        _ready = true;
        if (_pollCarriesAnswer) return;
        try { _poll?.Cancel(); } catch (ObjectDisposedException) { }
    }

    private volatile bool _pollCarriesAnswer;

    /// <summary>
    /// Waits for the shares, then masks <paramref name="values"/> (the trained coordinates of Δ, overwritten) with
    /// cryptographic noise and rounding; null when the exchange ended first.
    /// </summary>
    public async Task<MaskedInput?> MaskAsync(float[] values, CancellationToken ct)
    {
        MarkReady();
        await Task.WhenAny(_shares.Task, _finished.Task).WaitAsync(ct).ConfigureAwait(false);
        if (!_shares.Task.IsCompleted) return null;
        var noise = NoiseSource.Secure();
        var rounding = new Rng(BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)));
        return Member().Mask(values, noise, rounding);
    }

    private SecureMember Member() => _member ?? throw new FormatException("the server sent a group message before inviting this device to a group");

    private void End(string reason)
    {
        Ended ??= reason;
        _finished.TrySetResult();
    }

    public void Dispose() => _member?.Dispose();
}
