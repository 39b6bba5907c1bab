using System.Diagnostics;
using System.Globalization;
using Ftte.Core;
using Ftte.Engine;
using Ftte.Federation.Aggregation;
using Ftte.Federation.Compression;

namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>Secure aggregation of a buffered strategy's steps (see <see cref="SemiAsyncSecAgg"/> for the design).</summary>
public sealed record SecureAggregationOptions
{
    /// <summary>γ: the share of a group's members expected not to deliver before it closes; sizes G and the SecAgg+ graph.</summary>
    public double DropoutRate { get; init; } = 0.1;
    /// <summary>G: members per group; null: the smallest G with P[≥ K deliver] ≥ 1 − 10⁻³ (<see cref="SemiAsyncSecAgg.GroupSize"/>).</summary>
    public int? GroupSize { get; init; }
    /// <summary>Once K members have sent, how long the group waits for the rest before it closes.</summary>
    public double GraceSeconds { get; init; } = 10;
    /// <summary>r: masked words live in Z_2^r, 32 or 16 (2 bytes per value on the wire).</summary>
    public int RingBits { get; init; } = 32;
    /// <summary>b: values quantised to b bits (e.g. 8) with stochastic rounding before masking; null: the finest fixed point the ring allows.</summary>
    public int? ValueBits { get; init; }
    /// <summary>c: values are clamped to [−c, c]; null: from DP (C, plus 6 standard deviations of a device's noise share in distributed mode) or 1.</summary>
    public double? ValueRange { get; init; }
    /// <summary>On a real server: how long a key, share or unmasking phase waits for members before it goes on without them.</summary>
    public double PhaseTimeoutSeconds { get; init; } = 30;
}

/// <summary>What a strategy learns from <see cref="SecureGroups"/> about an arriving update.</summary>
public enum SecureVerdict { Accepted, Late }

/// <summary>
/// Buffered steps under SecAgg+ (Bell et al. 2020): the tasks a strategy dispatches form groups, each group is one
/// SecAgg round, and the unmasked sum of a group is one server step. The strategy sees no single update.
///
/// <para><b>Lifecycle of a group</b> (per lane, so the straggler pool forms its own groups):
/// <list type="number">
/// <item>open: the next tasks dispatched join it (a device at most once per group, so a step holds one update per
/// device);</item>
/// <item>sealed when it has G members, or earlier when K members have finished training (no reason to wait): the
/// members still alive are invited, advertise keys and exchange encrypted shares (rounds 0–1; small messages that
/// ride on the long poll while members train, so they cost bytes but no waiting); with the shares each member gets
/// its <see cref="MaskPlan"/>: the age weight a = s(P − base) at the planned version P, C and its noise share under DP,
/// the encoding;</item>
/// <item>each member that finishes encodes and masks its Δ (<see cref="SecureMember.Mask"/>) and uploads it (round 2);</item>
/// <item>closed when every member has sent or failed, or <see cref="SecureAggregationOptions.GraceSeconds"/> after the
/// K-th sent: members still training are cancelled (their work is lost: the price of not waiting), the survivors
/// reveal the shares that unmask the sum (round 3), and the step is applied: x ← x + η_g · Σ aᵢΔᵢ / |U3|, or
/// DP-FedAvg's release of the sum.</item>
/// </list>
/// A group that cannot be unmasked (fewer than t holders of some secret) or has fewer than the K contributions the
/// DP noise is calibrated for is discarded whole: no step, nothing revealed. On a real server each phase also ends
/// after <see cref="SecureAggregationOptions.PhaseTimeoutSeconds"/> without the members that did not answer.</para>
///
/// <para><b>Who computes what.</b> This class is the server's side (<see cref="ServerSession"/> per group); members are
/// reached through an <see cref="ISecureTransport"/>: a real server's device connections, or, in simulation,
/// <see cref="InProcessMembers"/>, which runs each member's <see cref="SecureMember"/> in-process so that the accuracy
/// (fixed-point and quantisation error, no variance weight, lost members), the bytes (every message's size) and the
/// waiting (groups, grace, the unmasking round trip) are the real protocol's.</para>
/// </summary>
public sealed class SecureGroups
{
    private enum MemberState { Training, Finished, Sent, Failed, Cancelled }
    private enum Phase { Open, Keys, Shares, Inputs, Unmasking, Done }

    private sealed class Member(TaskTicket ticket, int index)
    {
        public TaskTicket Ticket { get; } = ticket;
        public int Index { get; } = index;
        public MemberState State { get; set; }
        /// <summary>In the sharing set (U2): may send a masked input.</summary>
        public bool Sharing { get; set; }
        /// <summary>A simulated device's update in the clear, waiting for the member's shares.</summary>
        public ClientUpdate? Held { get; set; }
        public double Weight { get; set; }
    }

    private sealed class Group(long id, int lane)
    {
        public long Id { get; } = id;
        public int Lane { get; } = lane;
        public List<Member> Members { get; } = [];
        public HashSet<int> Devices { get; } = [];
        public Phase Phase { get; set; }
        /// <summary>Members whose answer the current phase still waits for.</summary>
        public HashSet<int> Awaiting { get; } = [];
        public bool GraceSet { get; set; }
        public ServerSession? Server { get; set; }
        public MaskPlan? Plan { get; set; }
        public long PlannedVersion { get; set; }
        public float[]? Sum { get; set; }
        public int[] Survivors { get; set; } = [];
    }

    private readonly SecureAggregationOptions _options;
    private readonly int _bufferSize;
    private readonly WeightRange[] _ranges;
    private readonly int _values;
    private readonly StalenessFunction? _staleness;
    private readonly PrivateStep? _private;
    private readonly Action<long> _cancelled;
    private readonly Dictionary<int, Group> _open = [];
    private readonly Dictionary<long, (Group Group, Member Member)> _byTask = [];
    private readonly SortedDictionary<long, Group> _pending = [];
    private readonly Dictionary<int, (Group Group, Phase Phase)> _timers = [];
    private int _nextTimer = TimerBase;
    private long _nextGroup;
    private readonly System.Diagnostics.Stopwatch _serverCrypto = new();

    /// <summary>Timer tags from here up belong to the groups; a strategy's own timers must stay below.</summary>
    public const int TimerBase = 1 << 30;
    /// <summary>Largest group that uses the complete graph (see <see cref="Parameters"/>).</summary>
    public const int CompleteGraphLimit = 64;

    /// <param name="bufferSize">K: contributions a step needs.</param>
    /// <param name="ranges">The trained coordinates every member sends (one trainable set for all).</param>
    /// <param name="staleness">s(τ) of the age weight; null: a ≡ 1.</param>
    /// <param name="privateStep">DP: members clip (and noise, distributed mode) and each group is one DP release; its options'
    /// buffer size must be G (the accountant's q is G/N, the mean's divisor G) and, in distributed mode, its minimum contributors K.</param>
    /// <param name="transport">How members are reached: the host's (a real server) or null for in-process members seeded from <paramref name="seed"/>.</param>
    /// <param name="cancelled">Told about every task this class cancels (members cut at a group's close).</param>
    public SecureGroups(SecureAggregationOptions options, int bufferSize, IReadOnlyList<WeightRange> ranges, StalenessFunction? staleness,
        PrivateStep? privateStep, ulong seed, Action<long> cancelled, ISecureTransport? transport = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(cancelled);
        _options = options;
        _bufferSize = bufferSize;
        _ranges = [.. ranges];
        _values = UpdateCompression.CountOf(_ranges);
        _staleness = staleness;
        _private = privateStep;
        _cancelled = cancelled;
        Transport = transport ?? new InProcessMembers(seed);
        GroupSize = SizeFor(options, bufferSize);
        if (GroupSize < bufferSize)
            throw new ArgumentOutOfRangeException(nameof(options), GroupSize, $"A group of {GroupSize} cannot hold the K = {bufferSize} updates a step needs; groupSize must be ≥ bufferSize.");
        if (GroupSize < 2) throw new ArgumentOutOfRangeException(nameof(options), GroupSize, "A secure aggregation group needs at least 2 members (a sum of one is that one update).");
        if (privateStep is { Cap: not null })
            throw new ArgumentException("A participation cap is not enforced under secure aggregation yet (a device's updates are counted when its group is applied, after it may have joined the next one); remove maxParticipations or secureAggregation.", nameof(privateStep));
        if (privateStep is { Aggregator.Options.AdaptiveClipping: not null })
            throw new ArgumentException("Adaptive clipping needs each device's clipped-or-not bit, which secure aggregation hides; use a fixed clip norm with secure aggregation.", nameof(privateStep));
        // Fail now on a ring or range the groups could never use, not at the first seal.
        _ = PlanFor(1.0).Encoding();
    }

    /// <summary>G: members per group.</summary>
    public int GroupSize { get; }
    public ISecureTransport Transport { get; }
    /// <summary>η_g of the step.</summary>
    public double ServerLearningRate { get; init; } = 1.0;

    /// <summary>G for these options and K (a DP step's options need it before the groups exist).</summary>
    public static int SizeFor(SecureAggregationOptions options, int bufferSize) =>
        options.GroupSize ?? SemiAsyncSecAgg.GroupSize(bufferSize, options.DropoutRate);

    /// <summary>
    /// A buffered strategy's DP step options for K: under secure aggregation a step is a group of up to G, so q = G/N
    /// and the mean's divisor is G, and the devices' noise shares are sized for the K contributions a group needs.
    /// </summary>
    public static ClientDpOptions StepOptions(ClientDpOptions dp, SecureAggregationOptions? secure, int bufferSize) => secure is null
        ? dp with { BufferSize = bufferSize }
        : dp with { BufferSize = SizeFor(secure, bufferSize), MinContributors = dp.MinContributors ?? bufferSize };

    /// <summary>
    /// A strategy's OnUpdate under secure aggregation: a real device's masked input goes to its group (a malformed one
    /// is rejected); a simulated device's update in the clear must be model-length and finite on the trained values
    /// (a fixed-point encoding has no NaN), then it is masked in-process.
    /// </summary>
    public UpdateVerdict Offer(IFederationHost host, ClientUpdate update)
    {
        long taskId = update.Task.TaskId;
        if (update.Masked is { } masked)
        {
            try { return Receive(host, taskId, masked) == SecureVerdict.Accepted ? UpdateVerdict.Accepted : UpdateVerdict.DroppedLate; }
            catch (SecAggException)
            {
                Failed(host, taskId);
                return UpdateVerdict.Rejected;
            }
        }
        bool valid = update.Delta.Length == host.Global.Model.ParameterCount;
        foreach (var r in _ranges)
            if (valid && r.End <= update.Delta.Length)
                foreach (float v in update.Delta.AsSpan(r.Offset, r.Length))
                    if (!float.IsFinite(v)) { valid = false; break; }
        if (!valid)
        {
            Failed(host, taskId);
            return UpdateVerdict.Rejected;
        }
        return Deliver(host, update) == SecureVerdict.Accepted ? UpdateVerdict.Accepted : UpdateVerdict.DroppedLate;
    }

    /// <summary>Bytes of one masked word on the wire.</summary>
    public int WordBytes => _options.RingBits / 8;
    /// <summary>Why no more steps may be released (DP budget), null while training goes on.</summary>
    public string? Exhausted { get; private set; }
    public int GroupsApplied { get; private set; }
    public int GroupsFailed { get; private set; }
    /// <summary>Members cancelled at their group's close: trained (or training) but not in the sum.</summary>
    public int MembersCut { get; private set; }
    /// <summary>Sent updates lost with a group that could not be unmasked or released.</summary>
    public int UpdatesLost { get; private set; }
    /// <summary>Survivors summed over applied groups.</summary>
    public long Contributions { get; private set; }
    public TimeSpan ServerCryptoTime => _serverCrypto.Elapsed;
    /// <summary>Answers that came when their group no longer waited for them (resends, late members).</summary>
    public int IgnoredAnswers { get; private set; }
    /// <summary>The last failure of a group, for the run notes.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>The group and member index of a task, once its group has sealed (what a device's poll is told).</summary>
    public (long Group, int Member)? MemberOf(long taskId) =>
        _byTask.TryGetValue(taskId, out var e) && e.Group.Phase != Phase.Open ? (e.Group.Id, e.Member.Index) : null;

    /// <summary>May <paramref name="deviceId"/> join the open group of <paramref name="lane"/>? (Once per group.)</summary>
    public bool CanJoin(int deviceId, int lane) => !_open.TryGetValue(lane, out var g) || !g.Devices.Contains(deviceId);

    /// <summary>A task was dispatched in <paramref name="lane"/>: it joins that lane's open group.</summary>
    public void Assign(IFederationHost host, TaskTicket ticket, int lane)
    {
        if (!_open.TryGetValue(lane, out var group))
        {
            group = new Group(_nextGroup++, lane);
            _open[lane] = group;
            _pending[group.Id] = group;
        }
        if (!group.Devices.Add(ticket.DeviceId))
            throw new InvalidOperationException($"Device {ticket.DeviceId} is already in group {group.Id}; check CanJoin before dispatching.");
        var member = new Member(ticket, group.Members.Count);
        group.Members.Add(member);
        _byTask[ticket.TaskId] = (group, member);
        if (group.Members.Count == GroupSize) Seal(host, group);
    }

    /// <summary>
    /// A simulated device's update arrived in the clear: its member masks it now, or as soon as its shares arrive
    /// (a real device would hold it until then).
    /// </summary>
    public SecureVerdict Deliver(IFederationHost host, ClientUpdate update)
    {
        if (!_byTask.TryGetValue(update.Task.TaskId, out var entry) || entry.Member.State != MemberState.Training)
            return SecureVerdict.Late;
        var (group, member) = entry;
        member.Held = update;
        Finished(host, group, member);
        return SecureVerdict.Accepted;
    }

    /// <summary>A real device finished training and waits for its shares (it polls); counts toward sealing early.</summary>
    public void Ready(IFederationHost host, long taskId)
    {
        if (_byTask.TryGetValue(taskId, out var entry) && entry.Member.State == MemberState.Training)
            Finished(host, entry.Group, entry.Member);
    }

    private void Finished(IFederationHost host, Group group, Member member)
    {
        member.State = MemberState.Finished;
        if (group.Phase == Phase.Open)
        {
            if (group.Members.Count(m => m.State == MemberState.Finished) >= _bufferSize) Seal(host, group);
            return;
        }
        if (group.Phase == Phase.Inputs && member.Held is not null) MaskHeld(host, group, member);
        else if (group.Phase > Phase.Inputs) member.State = MemberState.Failed;
    }

    /// <summary>A member's task failed (or its update was dropped): a dropout of its group.</summary>
    public void Failed(IFederationHost host, long taskId)
    {
        if (!_byTask.TryGetValue(taskId, out var entry) || entry.Member.State is MemberState.Sent or MemberState.Failed or MemberState.Cancelled) return;
        var (group, member) = entry;
        member.State = MemberState.Failed;
        member.Held = null;
        Transport.Forget(taskId);
        if (group.Phase is Phase.Keys or Phase.Shares && group.Awaiting.Remove(member.Index)) Advance(host, group);
        else if (group.Phase == Phase.Inputs) MaybeClose(host, group);
    }

    /// <summary>Handles the groups' timers (tags ≥ <see cref="TimerBase"/>); false for a tag that is not theirs.</summary>
    public bool OnTimer(IFederationHost host, int tag)
    {
        if (tag < TimerBase) return false;
        if (!_timers.Remove(tag, out var timer)) return true;
        var group = timer.Group;
        if (!_pending.ContainsKey(group.Id) || group.Phase != timer.Phase) return true;
        switch (group.Phase)
        {
            case Phase.Keys or Phase.Shares:
                group.Awaiting.Clear();   // the phase goes on without those that did not answer
                Advance(host, group);
                break;
            case Phase.Inputs: Close(host, group); break;
            case Phase.Unmasking:
                if (group.Sum is not null) Apply(host, group);
                else
                {
                    group.Awaiting.Clear();
                    Finish(host, group);
                }
                break;
        }
        return true;
    }

    private void SetTimer(IFederationHost host, Group group, double delay)
    {
        int tag = _nextTimer++;
        if (_nextTimer == int.MaxValue) _nextTimer = TimerBase;
        _timers[tag] = (group, group.Phase);
        host.SetTimer(delay, tag);
    }

    /// <summary>A phase that waits for remote members gets a deadline; in-process members have answered already.</summary>
    private void Deadline(IFederationHost host, Group group)
    {
        if (group.Awaiting.Count > 0) SetTimer(host, group, _options.PhaseTimeoutSeconds);
    }

    /// <summary>A member's plan: its weight, and what the group shares — C and the noise share under DP (as of now), the encoding.</summary>
    private MaskPlan PlanFor(double weight)
    {
        if (_private is null && _options.ValueRange is null && _options.ValueBits is not null)
            throw new ArgumentException("secureAggregation.valueBits without privacy needs valueRange (the clamp c that sets the quantisation step c/(2^(b−1) − 1)); with privacy it follows from the clip norm.");
        double? clip = _private?.Aggregator.ClipNorm;
        double noise = _private is { Aggregator.Options.Placement: DpNoisePlacement.Distributed } ? _private.Aggregator.DeviceNoiseStddev : 0;
        double range = _options.ValueRange ?? (clip is { } c ? c + 6 * noise : 1.0);
        return new MaskPlan(weight, clip, noise, range, _options.RingBits, _options.ValueBits, GroupSize);
    }

    /// <summary>
    /// Groups of up to <see cref="CompleteGraphLimit"/> members use the complete graph with t = ⌊n/2⌋ + 1 (Bonawitz et al.
    /// 2017): it survives any n − t dropouts, while SecAgg+'s sparse graph, sized for at most ⌊γn⌋ of them, fails a small
    /// group as soon as two neighbours of one member drop — and saves little at this size. Larger groups use SecAgg+.
    /// </summary>
    private SecAggParameters Parameters(long id, int members) => members <= CompleteGraphLimit
        ? SecAggParameters.Complete(id, members, _values, members / 2 + 1)
        : SecAggParameters.Recommend(id, members, _values, _options.DropoutRate, graphSeed: Rng.Mix((ulong)id, 0x6EA9));

    /// <summary>Round 0: the members still alive are invited to advertise keys.</summary>
    private void Seal(IFederationHost host, Group group)
    {
        if (_open.TryGetValue(group.Lane, out var open) && open == group) _open.Remove(group.Lane);
        var alive = group.Members.Where(m => m.State is MemberState.Training or MemberState.Finished).ToList();
        if (alive.Count < 2)
        {
            Fail(host, group, $"group {group.Id} had {alive.Count} live member(s) when it sealed; a secure sum needs at least 2");
            return;
        }
        var parameters = Parameters(group.Id, group.Members.Count);
        group.Server = new ServerSession(parameters);
        group.Phase = Phase.Keys;
        foreach (var m in alive) group.Awaiting.Add(m.Index);
        foreach (var m in alive)
        {
            if (group.Phase != Phase.Keys) return;
            if (Transport.Invite(host, m.Ticket, new GroupInvitation(parameters, m.Index)) is { } advert) Receive(host, m.Ticket.TaskId, advert);
        }
        if (group.Phase == Phase.Keys) Deadline(host, group);
    }

    public void Receive(IFederationHost host, long taskId, AdvertiseKeys message) =>
        Answer(host, taskId, Phase.Keys, message.RoundId, message.ClientId, group => group.Server!.Receive(message));

    public void Receive(IFederationHost host, long taskId, ShareKeys message) =>
        Answer(host, taskId, Phase.Shares, message.RoundId, message.ClientId, group => group.Server!.Receive(message));

    /// <summary>A member's masked input (round 2), as a real device uploads it.</summary>
    public SecureVerdict Receive(IFederationHost host, long taskId, MaskedInput message)
    {
        if (!_byTask.TryGetValue(taskId, out var entry) || entry.Group.Phase != Phase.Inputs || !entry.Member.Sharing
            || entry.Member.State is not (MemberState.Training or MemberState.Finished))
            return SecureVerdict.Late;
        var (group, member) = entry;
        if (message.RoundId != group.Id || message.ClientId != member.Index)
            throw new SecAggException(SecAggError.WrongRound, message.RoundId, $"Task {taskId} belongs to member {member.Index} of group {group.Id}; the input names member {message.ClientId} of group {message.RoundId}.");
        Server(() => group.Server!.Receive(message));
        member.State = MemberState.Sent;
        MaybeClose(host, group);
        return SecureVerdict.Accepted;
    }

    public void Receive(IFederationHost host, long taskId, UnmaskResponse message) =>
        Answer(host, taskId, Phase.Unmasking, message.RoundId, message.ClientId, group => group.Server!.Receive(message));

    /// <summary>
    /// An answer the group waits for is taken (a malformed one throws); one it no longer waits for — a resend after a lost
    /// reply, or too late for its phase's deadline — is ignored: it can neither help nor harm the round.
    /// </summary>
    private void Answer(IFederationHost host, long taskId, Phase phase, long roundId, int clientId, Action<Group> receive)
    {
        // A task speaks only for its own member: a message naming another member or group is an impersonation attempt.
        if (_byTask.TryGetValue(taskId, out var own) && (roundId != own.Group.Id || clientId != own.Member.Index))
            throw new SecAggException(SecAggError.UnknownClient, roundId,
                $"Task {taskId} is member {own.Member.Index} of group {own.Group.Id}; its message speaks for member {clientId} of group {roundId}.");
        if (!_byTask.TryGetValue(taskId, out var entry) || entry.Group.Phase != phase || !entry.Group.Awaiting.Contains(entry.Member.Index))
        {
            IgnoredAnswers++;
            return;
        }
        var group = entry.Group;
        Server(() => receive(group));
        group.Awaiting.Remove(entry.Member.Index);
        if (group.Awaiting.Count == 0)
        {
            if (phase == Phase.Unmasking) Finish(host, group);
            else Advance(host, group);
        }
    }

    /// <summary>Ends round 0 or 1 once every invited member answered (or the deadline passed).</summary>
    private void Advance(IFederationHost host, Group group)
    {
        if (group.Awaiting.Count > 0) return;
        try
        {
            if (group.Phase == Phase.Keys)
            {
                var broadcasts = Server(group.Server!.CloseAdvertising);
                group.Phase = Phase.Shares;
                var live = broadcasts.Where(b => group.Members[b.RecipientId].State is MemberState.Training or MemberState.Finished).ToList();
                foreach (var b in live) group.Awaiting.Add(b.RecipientId);
                foreach (var b in live)
                {
                    if (group.Phase != Phase.Shares) return;
                    var m = group.Members[b.RecipientId];
                    if (Transport.Send(host, m.Ticket, b) is { } shares) Receive(host, m.Ticket.TaskId, shares);
                }
                if (group.Phase == Phase.Shares) Deadline(host, group);
                if (live.Count == 0) Fail(host, group, $"no member of group {group.Id} was left to share keys");
            }
            else if (group.Phase == Phase.Shares)
            {
                var deliveries = Server(group.Server!.CloseSharing);
                group.Phase = Phase.Inputs;
                // The server tells the members the version their group is planned to be applied at: now plus the groups ahead.
                group.PlannedVersion = host.Global.Version + _pending.Keys.Count(id => id < group.Id);
                foreach (var d in deliveries)
                {
                    var m = group.Members[d.RecipientId];
                    if (m.State is not (MemberState.Training or MemberState.Finished)) continue;
                    m.Weight = _staleness is null ? 1.0 : SemiAsyncSecAgg.PlannedAgeWeight(_staleness, m.Ticket.BaseVersion, Math.Max(group.PlannedVersion, m.Ticket.BaseVersion));
                    var plan = PlanFor(m.Weight);
                    group.Plan ??= plan;
                    m.Sharing = true;
                    Transport.Send(host, m.Ticket, d, plan);
                }
                foreach (var m in group.Members)
                {
                    if (!m.Sharing && m.State is MemberState.Training or MemberState.Finished)
                    {
                        // Joined too late for the key exchange: it cannot be summed; free it.
                        m.State = MemberState.Cancelled;
                        host.Cancel(m.Ticket.TaskId);
                        _cancelled(m.Ticket.TaskId);
                        MembersCut++;
                    }
                    else if (m.Held is not null && m.State == MemberState.Finished) MaskHeld(host, group, m);
                    if (group.Phase != Phase.Inputs) return;
                }
                MaybeClose(host, group);
            }
        }
        catch (SecAggException e)
        {
            _serverCrypto.Stop();
            Fail(host, group, e.Message);
        }
    }

    /// <summary>Simulation: the member masks the update it finished with, as the device would before uploading.</summary>
    private void MaskHeld(IFederationHost host, Group group, Member member)
    {
        var update = member.Held!;
        member.Held = null;
        var masked = Transport.MaskInProcess(member.Ticket, update, _ranges);
        Receive(host, member.Ticket.TaskId, masked);
    }

    private void MaybeClose(IFederationHost host, Group group)
    {
        if (group.Phase != Phase.Inputs) return;
        int sent = group.Members.Count(m => m.State == MemberState.Sent);
        bool waiting = group.Members.Any(m => m.Sharing && m.State is MemberState.Training or MemberState.Finished);
        if (!waiting) Close(host, group);
        else if (sent >= _bufferSize && !group.GraceSet)
        {
            group.GraceSet = true;
            SetTimer(host, group, _options.GraceSeconds);
        }
    }

    /// <summary>Ends round 2 (cutting members still training) and asks the survivors to unmask (round 3).</summary>
    private void Close(IFederationHost host, Group group)
    {
        if (group.Phase != Phase.Inputs) return;
        foreach (var m in group.Members.Where(m => m.State is MemberState.Training or MemberState.Finished))
        {
            m.State = MemberState.Cancelled;
            host.Cancel(m.Ticket.TaskId);
            _cancelled(m.Ticket.TaskId);
            MembersCut++;
        }
        int sent = group.Members.Count(m => m.State == MemberState.Sent);
        int needed = _private is { Aggregator.Options.Placement: DpNoisePlacement.Distributed } ? _private.Aggregator.MinContributors : 1;
        if (sent < needed)
        {
            Fail(host, group, $"group {group.Id} closed with {sent} contribution(s); the distributed DP noise is calibrated for at least {needed}");
            return;
        }
        try
        {
            string? why = Server(() => group.Server!.CanCloseMasking(out string reason) ? null : reason);
            if (why is not null)
            {
                Fail(host, group, why);
                return;
            }
            var requests = Server(group.Server!.CloseMasking);
            group.Phase = Phase.Unmasking;
            foreach (var r in requests) group.Awaiting.Add(r.RecipientId);
            foreach (var request in requests)
            {
                if (group.Phase != Phase.Unmasking || group.Sum is not null) return;
                var m = group.Members[request.RecipientId];
                if (Transport.Send(host, m.Ticket, request) is { } response) Receive(host, m.Ticket.TaskId, response);
            }
            if (group.Phase == Phase.Unmasking && group.Sum is null) Deadline(host, group);
        }
        catch (SecAggException e)
        {
            _serverCrypto.Stop();
            Fail(host, group, e.Message);
        }
    }

    /// <summary>Ends round 3: the unmasked sum; the step follows after the round trip (simulation) or at once.</summary>
    private void Finish(IFederationHost host, Group group)
    {
        try
        {
            var result = Server(group.Server!.Finish);
            var sum = new float[_values];
            group.Plan!.Encoding().Decode(result.Sum, sum);
            group.Sum = sum;
            group.Survivors = [.. result.Survivors.Select(i => group.Members[i].Ticket.DeviceId)];
        }
        catch (SecAggException e)
        {
            _serverCrypto.Stop();
            Fail(host, group, e.Message);
            return;
        }
        double roundTrip = Transport.TakeRoundTrip();
        if (roundTrip > 0) SetTimer(host, group, roundTrip);
        else Apply(host, group);
    }

    /// <summary>One server step from the unmasked sum.</summary>
    private void Apply(IFederationHost host, Group group)
    {
        group.Phase = Phase.Done;
        _pending.Remove(group.Id);
        Forget(group);
        var full = new float[host.Global.Model.ParameterCount];
        UpdateCompression.Scatter(group.Sum!, _ranges, full);
        int n = group.Survivors.Length;
        if (_private is not null)
        {
            _private.AddSecureSum(full, group.Survivors);
            if (!_private.TryRelease(host.Global.Weights, ServerLearningRate))
            {
                Exhausted = _private.Exhausted;
                UpdatesLost += n;
                return;
            }
        }
        else
        {
            // FedBuff's Σ s(τᵢ)Δᵢ / K with K = |U3| (public), FTTE's v ≡ 1.
            var weights = host.Global.Weights;
            float factor = (float)(ServerLearningRate / n);
            foreach (var r in _ranges)
                for (int j = r.Offset; j < r.End; j++) weights[j] += factor * full[j];
        }
        GroupsApplied++;
        Contributions += n;
        host.Commit(n);
    }

    private void Fail(IFederationHost host, Group group, string reason)
    {
        group.Phase = Phase.Done;
        group.Awaiting.Clear();
        if (_open.TryGetValue(group.Lane, out var open) && open == group) _open.Remove(group.Lane);
        _pending.Remove(group.Id);
        foreach (var m in group.Members.Where(m => m.State is MemberState.Training or MemberState.Finished && m.Held is null))
        {
            m.State = MemberState.Cancelled;
            host.Cancel(m.Ticket.TaskId);
            _cancelled(m.Ticket.TaskId);
            MembersCut++;
        }
        UpdatesLost += group.Members.Count(m => m.State is MemberState.Sent || m.Held is not null);
        Forget(group);
        GroupsFailed++;
        LastFailure = reason;
    }

    private void Forget(Group group)
    {
        foreach (var m in group.Members)
        {
            _byTask.Remove(m.Ticket.TaskId);
            Transport.Forget(m.Ticket.TaskId);
            m.Held = null;
        }
    }

    private T Server<T>(Func<T> work)
    {
        _serverCrypto.Start();
        try { return work(); }
        finally { _serverCrypto.Stop(); }
    }

    private void Server(Action work)
    {
        _serverCrypto.Start();
        try { work(); }
        finally { _serverCrypto.Stop(); }
    }

    /// <summary>For the run notes.</summary>
    public string Describe()
    {
        string values = _options.ValueBits is { } b ? $"{b}-bit values" : "fixed point";
        double perGroup = GroupsApplied == 0 ? 0 : (double)Contributions / GroupsApplied;
        string crypto = Transport is InProcessMembers members
            ? FormattableString.Invariant($"; protocol messages {ByteSize.Format(members.BytesDown)} down, {ByteSize.Format(members.BytesUp)} up; crypto on the host: devices {members.CryptoTime.TotalSeconds:F1} s, server {ServerCryptoTime.TotalSeconds:F1} s")
            : FormattableString.Invariant($"; server crypto {ServerCryptoTime.TotalSeconds:F1} s");
        return FormattableString.Invariant(
            $"Secure aggregation: groups of G = {GroupSize} (K = {_bufferSize}, γ = {_options.DropoutRate}), {_options.RingBits}-bit ring, {values}, {WordBytes} byte(s) per value up; ") +
            FormattableString.Invariant(
            $"{GroupsApplied:N0} group(s) applied ({perGroup:F1} contributions each), {GroupsFailed:N0} discarded, {MembersCut:N0} member(s) cut, {UpdatesLost:N0} finished update(s) lost") +
            crypto + (LastFailure is { } f ? $"; last discarded group: {f}" : "") + ".";
    }
}
