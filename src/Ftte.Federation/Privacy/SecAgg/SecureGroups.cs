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
}

/// <summary>What a strategy learns from <see cref="SecureGroups"/> about an arriving update.</summary>
public enum SecureVerdict { Accepted, Late }

/// <summary>
/// Buffered steps under SecAgg+ (Bell et al. 2020): the tasks a strategy dispatches form groups, each group is one
/// SecAgg+ round, and the unmasked sum of a group is one server step. The strategy sees no single update.
///
/// <para><b>Lifecycle of a group</b> (per lane, so the straggler pool forms its own groups):
/// <list type="number">
/// <item>open: the next tasks dispatched join it (a device at most once per group, so a step holds one update per
/// device);</item>
/// <item>sealed when it has G members, or earlier when K members have finished training (no reason to wait): the
/// members still alive advertise keys and exchange encrypted shares (rounds 0–1; small messages that ride on the
/// long poll while members train, so they cost bytes but no waiting);</item>
/// <item>each member that finishes encodes its Δ (clip to C and its noise share under DP; age weight
/// a = s(τ̂) at the planned version; fixed point or b-bit stochastic rounding in Z_2^r) and sends it masked (round 2);</item>
/// <item>closed when every member has sent or failed, or <see cref="SecureAggregationOptions.GraceSeconds"/> after the
/// K-th sent: members still training are cancelled (their work is lost: the price of not waiting), the survivors
/// reveal the shares that unmask the sum (round 3), and after that round trip the step is applied:
/// x ← x + η_g · Σ aᵢΔᵢ / |U3|, or DP-FedAvg's release of the sum.</item>
/// </list>
/// A group that cannot be unmasked (fewer than t holders of some secret) or has fewer than the K contributions the
/// DP noise is calibrated for is discarded whole: no step, nothing revealed.</para>
///
/// <para><b>Who computes what.</b> The server part (<see cref="ServerSession"/>) is what a real server runs. The members'
/// part (<see cref="ClientSession"/>, encoding, noise) runs here in-process with per-task seeds, standing in for the
/// devices: in simulation this class plays both sides so that the accuracy (fixed-point and quantisation error, the
/// missing variance weight, lost dropouts), the bytes (every protocol message's size) and the waiting (groups, grace,
/// the unmasking round trip) are the real protocol's. Device crypto time is measured on the host and reported, not
/// charged to the virtual clock.</para>
/// </summary>
public sealed class SecureGroups
{
    private enum MemberState { Training, Finished, Sent, Failed, Cancelled }

    private sealed class Member(TaskTicket ticket, int index)
    {
        public TaskTicket Ticket { get; } = ticket;
        public int Index { get; } = index;
        public MemberState State { get; set; }
        public ClientSession? Session { get; set; }
        public bool Sharing { get; set; }
        public ClientUpdate? Finished { get; set; }
        public double Weight { get; set; }
    }

    private sealed class Group(long id, int lane)
    {
        public long Id { get; } = id;
        public int Lane { get; } = lane;
        public List<Member> Members { get; } = [];
        public HashSet<int> Devices { get; } = [];
        public bool Sealed { get; set; }
        public bool Closed { get; set; }
        public bool GraceSet { get; set; }
        public ServerSession? Server { get; set; }
        public FixedPointEncoding? Encoding { get; set; }
        public double ClipNorm { get; set; }
        public double NoiseStddev { get; set; }
        public float[]? Sum { get; set; }
        public int[] Survivors { get; set; } = [];
        public double WeightSum { get; set; }
    }

    private readonly SecureAggregationOptions _options;
    private readonly int _bufferSize;
    private readonly WeightRange[] _ranges;
    private readonly int _values;
    private readonly StalenessFunction? _staleness;
    private readonly PrivateStep? _private;
    private readonly ulong _seed;
    private readonly Action<long> _cancelled;
    private readonly Dictionary<int, Group> _open = [];
    private readonly Dictionary<long, (Group Group, Member Member)> _byTask = [];
    private readonly SortedDictionary<long, Group> _pending = [];
    private readonly Dictionary<int, (Group Group, bool Unmasked)> _timers = [];
    private int _nextTimer = TimerBase;
    private long _nextGroup;
    private readonly Stopwatch _deviceCrypto = new();
    private readonly Stopwatch _serverCrypto = new();

    /// <summary>Timer tags from here up belong to the groups; a strategy's own timers must stay below.</summary>
    public const int TimerBase = 1 << 30;

    /// <param name="bufferSize">K: contributions a step needs.</param>
    /// <param name="ranges">The trained coordinates every member sends (one trainable set for all).</param>
    /// <param name="staleness">s(τ) of the age weight; null: a ≡ 1.</param>
    /// <param name="privateStep">DP: members clip (and noise, distributed mode) and each group is one DP release; its options'
    /// buffer size must be G (the accountant's q is G/N, the mean's divisor G) and, in distributed mode, its minimum contributors K.</param>
    /// <param name="cancelled">Told about every task this class cancels (members cut at a group's close).</param>
    public SecureGroups(SecureAggregationOptions options, int bufferSize, IReadOnlyList<WeightRange> ranges, StalenessFunction? staleness,
        PrivateStep? privateStep, ulong seed, Action<long> cancelled)
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
        _seed = seed;
        _cancelled = cancelled;
        GroupSize = SizeFor(options, bufferSize);
        if (GroupSize < bufferSize)
            throw new ArgumentOutOfRangeException(nameof(options), GroupSize, $"A group of {GroupSize} cannot hold the K = {bufferSize} updates a step needs; groupSize must be ≥ bufferSize.");
        if (GroupSize < 2) throw new ArgumentOutOfRangeException(nameof(options), GroupSize, "A secure aggregation group needs at least 2 members (a sum of one is that one update).");
        if (privateStep is { Aggregator.Options.AdaptiveClipping: not null })
            throw new ArgumentException("Adaptive clipping needs each device's clipped-or-not bit, which secure aggregation hides; use a fixed clip norm with secure aggregation.", nameof(privateStep));
        // Fail now on a ring or range the groups could never use, not at the first seal.
        _ = Encoding(privateStep?.Aggregator.ClipNorm ?? 0);
    }

    /// <summary>G: members per group.</summary>
    public int GroupSize { get; }

    /// <summary>G for these options and K (a DP step's options need it before the groups exist).</summary>
    public static int SizeFor(SecureAggregationOptions options, int bufferSize) =>
        options.GroupSize ?? SemiAsyncSecAgg.GroupSize(bufferSize, options.DropoutRate);
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
    /// <summary>Bytes of rounds 0, 1 and 3 (keys, shares, unmasking), down and up; the masked input itself travels as the task's upload.</summary>
    public long ProtocolBytesDown { get; private set; }
    public long ProtocolBytesUp { get; private set; }
    public TimeSpan DeviceCryptoTime => _deviceCrypto.Elapsed;
    public TimeSpan ServerCryptoTime => _serverCrypto.Elapsed;
    /// <summary>The last failure of a group, for the run notes.</summary>
    public string? LastFailure { get; private set; }

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

    /// <summary>A member's update arrived: it is masked into its group (now or when the group seals).</summary>
    public SecureVerdict Deliver(IFederationHost host, ClientUpdate update)
    {
        if (!_byTask.TryGetValue(update.Task.TaskId, out var entry) || entry.Group.Closed || entry.Member.State != MemberState.Training)
            return SecureVerdict.Late;
        var (group, member) = entry;
        member.State = MemberState.Finished;
        member.Finished = update;
        if (!group.Sealed)
        {
            if (group.Members.Count(m => m.State == MemberState.Finished) >= _bufferSize) Seal(host, group);
            return SecureVerdict.Accepted;
        }
        if (member.Sharing) Mask(host, group, member);
        else member.State = MemberState.Failed;   // joined too late for the key exchange: cannot be summed
        MaybeClose(host, group);
        return SecureVerdict.Accepted;
    }

    /// <summary>A member's task failed (or its update was dropped): it is a dropout of its group.</summary>
    public void Failed(IFederationHost host, long taskId)
    {
        if (!_byTask.TryGetValue(taskId, out var entry) || entry.Member.State != MemberState.Training) return;
        entry.Member.State = MemberState.Failed;
        if (entry.Group.Sealed) MaybeClose(host, entry.Group);
    }

    /// <summary>Handles the groups' timers (tags ≥ <see cref="TimerBase"/>); false for a tag that is not theirs.</summary>
    public bool OnTimer(IFederationHost host, int tag)
    {
        if (tag < TimerBase) return false;
        if (!_timers.Remove(tag, out var timer)) return true;
        var group = timer.Group;
        if (!_pending.ContainsKey(group.Id)) return true;
        if (!timer.Unmasked) Close(host, group);
        else Apply(host, group);
        return true;
    }

    private int SetTimer(IFederationHost host, Group group, double delay, bool unmasked)
    {
        int tag = _nextTimer++;
        if (_nextTimer == int.MaxValue) _nextTimer = TimerBase;
        _timers[tag] = (group, unmasked);
        host.SetTimer(delay, tag);
        return tag;
    }

    private FixedPointEncoding Encoding(double clip = 0, double noiseStddev = 0)
    {
        double range = _options.ValueRange ?? (_private is null ? 1.0 : clip + 6 * noiseStddev);
        if (_private is null && _options.ValueRange is null && _options.ValueBits is not null)
            throw new ArgumentException("secureAggregation.valueBits without privacy needs valueRange (the clamp c that sets the quantisation step c/(2^(b−1) − 1)); with privacy it follows from the clip norm.");
        return _options.ValueBits is { } bits
            ? FixedPointEncoding.Quantised(range, bits, _options.RingBits)
            : FixedPointEncoding.ForSummands(range, GroupSize, _options.RingBits);
    }

    /// <summary>
    /// Groups of up to <see cref="CompleteGraphLimit"/> members use the complete graph with t = ⌊n/2⌋ + 1 (Bonawitz et al.
    /// 2017): it survives any n − t dropouts, while SecAgg+'s sparse graph, sized for at most ⌊γn⌋ of them, fails a small
    /// group as soon as two neighbours of one member drop — and saves little at this size. Larger groups use SecAgg+.
    /// </summary>
    private SecAggParameters Parameters(long id, int members) => members <= CompleteGraphLimit
        ? SecAggParameters.Complete(id, members, _values, members / 2 + 1)
        : SecAggParameters.Recommend(id, members, _values, _options.DropoutRate, graphSeed: Rng.Mix(_seed, (ulong)id));

    /// <summary>Largest group that uses the complete graph.</summary>
    public const int CompleteGraphLimit = 64;

    /// <summary>Rounds 0 and 1 for the members still alive; then members that already finished send.</summary>
    private void Seal(IFederationHost host, Group group)
    {
        group.Sealed = true;
        if (_open.TryGetValue(group.Lane, out var open) && open == group) _open.Remove(group.Lane);
        if (_private is not null)
        {
            group.ClipNorm = _private.Aggregator.ClipNorm;
            group.NoiseStddev = _private.Aggregator.Options.Placement == DpNoisePlacement.Distributed ? _private.Aggregator.DeviceNoiseStddev : 0;
        }
        group.Encoding = Encoding(group.ClipNorm, group.NoiseStddev);
        var alive = group.Members.Where(m => m.State is MemberState.Training or MemberState.Finished).ToList();
        if (alive.Count < 2)
        {
            Fail(host, group, $"group {group.Id} had {alive.Count} live member(s) when it sealed; a secure sum needs at least 2");
            return;
        }
        try
        {
            var parameters = Parameters(group.Id, group.Members.Count);
            group.Server = new ServerSession(parameters);
            var traffic = new Dictionary<Member, (long Down, long Up)>();
            foreach (var m in alive)
            {
                _deviceCrypto.Start();
                m.Session = new ClientSession(parameters, m.Index, Rng.Mix(_seed, (ulong)m.Ticket.TaskId ^ 0x5EC0A66UL));
                var advert = m.Session.AdvertiseKeys();
                _deviceCrypto.Stop();
                Server(() => group.Server.Receive(advert));
                traffic[m] = (0, advert.WireBytes);
            }
            var broadcasts = Server(group.Server.CloseAdvertising);
            foreach (var b in broadcasts)
            {
                var m = group.Members[b.RecipientId];
                _deviceCrypto.Start();
                var shares = m.Session!.ShareKeys(b);
                _deviceCrypto.Stop();
                Server(() => group.Server.Receive(shares));
                traffic[m] = (traffic[m].Down + b.WireBytes, traffic[m].Up + shares.WireBytes);
            }
            foreach (var d in Server(group.Server.CloseSharing))
            {
                var m = group.Members[d.RecipientId];
                _deviceCrypto.Start();
                m.Session!.ReceiveShares(d);
                _deviceCrypto.Stop();
                m.Sharing = true;
                traffic[m] = (traffic[m].Down + d.WireBytes, traffic[m].Up);
            }
            foreach (var (m, (down, up)) in traffic) Charge(host, m, down, up);
        }
        catch (SecAggException e)
        {
            _deviceCrypto.Stop();
            _serverCrypto.Stop();
            Fail(host, group, e.Message);
            return;
        }
        foreach (var m in group.Members)
        {
            if (m.State != MemberState.Finished) continue;
            if (m.Sharing) Mask(host, group, m);
            else m.State = MemberState.Failed;
        }
        MaybeClose(host, group);
    }

    /// <summary>The member's round 2: encode Δ as the server will sum it, and mask it.</summary>
    private void Mask(IFederationHost host, Group group, Member member)
    {
        var update = member.Finished!;
        member.Finished = null;
        var values = new float[_values];
        UpdateCompression.Gather(update.Delta, _ranges, values);
        // The server tells the member the version its group is planned to be applied at: now plus the groups ahead of it.
        long planned = host.Global.Version + _pending.Keys.Count(id => id < group.Id);
        double a = _staleness is null ? 1.0 : SemiAsyncSecAgg.PlannedAgeWeight(_staleness, member.Ticket.BaseVersion, Math.Max(planned, member.Ticket.BaseVersion));
        member.Weight = a;
        _deviceCrypto.Start();
        WeightRange[] all = [new WeightRange(0, _values)];
        if (_private is not null)
        {
            // Clip to C, weight (a ≤ 1 keeps the sensitivity at C), then the device's noise share — after weighting, so
            // that a stale update's weight never scales its noise below N(0, z²C²/t).
            ClientDp.Clip(values, all, group.ClipNorm);
            if (a != 1.0) for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] * a);
            if (group.NoiseStddev > 0)
                ClientDp.AddGaussianNoise(values, all, group.NoiseStddev, NoiseSource.Seeded(Rng.Mix(_seed, (ulong)member.Ticket.TaskId ^ 0xD15EUL)));
        }
        else if (a != 1.0) for (int i = 0; i < values.Length; i++) values[i] = (float)(values[i] * a);
        var words = new uint[_values];
        group.Encoding!.Encode(values, words, new Rng(Rng.Mix(_seed, (ulong)member.Ticket.TaskId ^ 0x0BADUL)));
        var masked = member.Session!.MaskInput(words);
        for (int i = 0; i < masked.Values.Length; i++) masked.Values[i] = group.Encoding.Reduce(masked.Values[i]);
        _deviceCrypto.Stop();
        Server(() => group.Server!.Receive(masked));
        member.State = MemberState.Sent;
    }

    private void MaybeClose(IFederationHost host, Group group)
    {
        if (!group.Sealed || group.Closed) return;
        int sent = group.Members.Count(m => m.State == MemberState.Sent);
        bool waiting = group.Members.Any(m => m.Sharing && m.State == MemberState.Training);
        if (!waiting) Close(host, group);
        else if (sent >= _bufferSize && !group.GraceSet)
        {
            group.GraceSet = true;
            SetTimer(host, group, _options.GraceSeconds, unmasked: false);
        }
    }

    /// <summary>Ends round 2 (cutting members still training) and runs round 3; the step follows after its round trip.</summary>
    private void Close(IFederationHost host, Group group)
    {
        if (group.Closed) return;
        group.Closed = true;
        foreach (var m in group.Members.Where(m => m.State == MemberState.Training))
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
            double roundTrip = 0;
            foreach (var request in requests)
            {
                var m = group.Members[request.RecipientId];
                _deviceCrypto.Start();
                var response = m.Session!.Unmask(request);
                _deviceCrypto.Stop();
                Server(() => group.Server.Receive(response));
                Charge(host, m, request.WireBytes, response.WireBytes);
                var d = host.Devices[m.Ticket.DeviceId];
                roundTrip = Math.Max(roundTrip, d.LatencySeconds + request.WireBytes * 8.0 / d.DownlinkBitsPerSecond + response.WireBytes * 8.0 / d.UplinkBitsPerSecond);
            }
            var result = Server(group.Server.Finish);
            var sum = new float[_values];
            group.Encoding!.Decode(result.Sum, sum);
            group.Sum = sum;
            group.Survivors = [.. result.Survivors.Select(i => group.Members[i].Ticket.DeviceId)];
            group.WeightSum = result.Survivors.Sum(i => group.Members[i].Weight);
            SetTimer(host, group, roundTrip, unmasked: true);
        }
        catch (SecAggException e)
        {
            _deviceCrypto.Stop();
            _serverCrypto.Stop();
            Fail(host, group, e.Message);
        }
    }

    /// <summary>One server step from the unmasked sum.</summary>
    private void Apply(IFederationHost host, Group group)
    {
        _pending.Remove(group.Id);
        Forget(group);
        var full = new float[host.Global.Model.ParameterCount];
        UpdateCompression.Scatter(group.Sum!, _ranges, full);
        int n = group.Survivors.Length;
        if (_private is not null)
        {
            _private.AddSecureSum(full, group.Survivors);
            if (!_private.TryRelease(host.Global.Weights, EligibleDevices?.Invoke() ?? n, ServerLearningRate))
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

    /// <summary>η_g of the step.</summary>
    public double ServerLearningRate { get; init; } = 1.0;
    /// <summary>Devices that can take part now, for the DP sampling rate q = G / N.</summary>
    public Func<int>? EligibleDevices { get; init; }

    private void Fail(IFederationHost host, Group group, string reason)
    {
        group.Closed = true;
        group.Sealed = true;
        if (_open.TryGetValue(group.Lane, out var open) && open == group) _open.Remove(group.Lane);
        _pending.Remove(group.Id);
        foreach (var m in group.Members.Where(m => m.State == MemberState.Training))
        {
            m.State = MemberState.Cancelled;
            host.Cancel(m.Ticket.TaskId);
            _cancelled(m.Ticket.TaskId);
            MembersCut++;
        }
        UpdatesLost += group.Members.Count(m => m.State is MemberState.Sent or MemberState.Finished);
        Forget(group);
        GroupsFailed++;
        LastFailure = reason;
    }

    private void Forget(Group group)
    {
        foreach (var m in group.Members)
        {
            _byTask.Remove(m.Ticket.TaskId);
            m.Session?.Dispose();
            m.Session = null;
            m.Finished = null;
        }
    }

    private void Charge(IFederationHost host, Member member, long down, long up)
    {
        ProtocolBytesDown += down;
        ProtocolBytesUp += up;
        host.AddTraffic(member.Ticket.DeviceId, down, up);
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
        return FormattableString.Invariant(
            $"Secure aggregation: groups of G = {GroupSize} (K = {_bufferSize}, γ = {_options.DropoutRate}), {_options.RingBits}-bit ring, {values}, {WordBytes} byte(s) per value up; ") +
            FormattableString.Invariant(
            $"{GroupsApplied:N0} group(s) applied ({perGroup:F1} contributions each), {GroupsFailed:N0} discarded, {MembersCut:N0} member(s) cut at close, {UpdatesLost:N0} sent update(s) lost; ") +
            FormattableString.Invariant(
            $"protocol messages {ByteSize.Format(ProtocolBytesDown)} down, {ByteSize.Format(ProtocolBytesUp)} up; crypto on the host: devices {DeviceCryptoTime.TotalSeconds:F1} s, server {ServerCryptoTime.TotalSeconds:F1} s") +
            (LastFailure is { } f ? $"; last discarded group: {f}" : "") + ".";
    }
}
