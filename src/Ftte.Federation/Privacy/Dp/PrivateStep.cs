using System.Globalization;
using System.Text.Json;
using Ftte.Engine;

namespace Ftte.Federation.Privacy;

/// <summary>
/// A buffered strategy's server step under client-level DP (central mode), as FedBuff and FTTE use it: updates are
/// clipped into a <see cref="ClientDpAggregator"/> with their age weight (≤ 1), a device's second update within one
/// step waits for the next step (so one step holds one update per device: sensitivity C), and at K updates the step
/// is released with q = K / eligible devices — unless the budget refuses it, in which case nothing is released and
/// <see cref="Exhausted"/> says why (the host ends the run).
///
/// <para><b>Participation cap</b> (<see cref="ClientDpOptions.MaxParticipations"/> = c). A buffered server does not
/// sample devices independently with probability q, so the sampled ε is an approximation. With a cap, each device
/// contributes to at most c released steps, each a Gaussian mechanism of sensitivity C and noise zC, whose RDP is
/// α/(2z²) (Mironov 2017, Prop. 7); composed by addition, no device's ε exceeds that of c of them at q = 1 — a guarantee
/// with no sampling assumption. A device whose accepted updates (released, in the current step, or held for the next)
/// reach c is retired from <see cref="Participation"/> (no more tasks; it leaves the population q is taken over), and
/// an update beyond the cap is refused (<see cref="Admits"/>). ε_max then bounds this per-device figure: a step that
/// would take some device's count past what ε_max allows is refused, and the run ends with that reason; it also ends
/// when fewer than K devices can still take part.</para>
/// </summary>
public sealed class PrivateStep
{
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly int _parameters;
    private readonly ClientDpOptions _options;
    // What the aggregator is given: with a cap, ε_max applies to the per-device guarantee, so its sampled-ε budget is off.
    private readonly ClientDpOptions _aggregatorOptions;
    private readonly NoiseSource _noise;
    private readonly IReadOnlyList<WeightRange>? _released;
    private readonly Participation _participation;
    // With a cap and ε_max: the most released steps one device may join while c unsampled steps stay within ε_max.
    private readonly long _guaranteeLimit = long.MaxValue;
    private ClientDpAggregator _dp;
    private readonly Queue<(ClientUpdate Update, double Weight)> _held = new();
    private readonly Dictionary<int, long> _releasedPerDevice = [];
    private readonly HashSet<int> _inStep = [];

    /// <param name="participation">The strategy's pool: a device at its participation cap is retired from it.</param>
    public PrivateStep(int parameters, ClientDpOptions options, NoiseSource noise, IReadOnlyList<WeightRange>? released, Participation participation)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(participation);
        (_parameters, _options, _noise, _released, _participation) = (parameters, options, noise, released, participation);
        _aggregatorOptions = options.MaxParticipations is null ? options : options with { MaxEpsilon = null };
        _dp = new ClientDpAggregator(parameters, _aggregatorOptions, noise, released);
        if (options.MaxParticipations is not null && options.MaxEpsilon is { } max)
            _guaranteeLimit = new RdpAccountant(options.Orders).RemainingSteps(1.0, options.NoiseMultiplier, max, options.Delta, options.Conversion);
    }

    /// <summary>A step holds one update per device, so it needs at least K devices that can take part.</summary>
    public static void RequireEnoughDevices(string strategy, int bufferSize, int eligibleDevices)
    {
        if (eligibleDevices < bufferSize)
            throw new InvalidOperationException(
                $"{strategy} with differential privacy needs at least K = {bufferSize} devices that can take part (a step holds one update per device); {eligibleDevices} can. Lower bufferSize or add devices.");
    }

    /// <summary>
    /// ε at δ of <paramref name="steps"/> Gaussian mechanisms at noise multiplier z without sampling (q = 1: RDP α/(2z²)
    /// each, Mironov 2017), converted as the accountant converts: what one device that joined that many steps is guaranteed.
    /// </summary>
    public static PrivacySpent UnsampledEpsilon(ClientDpOptions options, long steps)
    {
        ArgumentNullException.ThrowIfNull(options);
        var accountant = new RdpAccountant(options.Orders);
        accountant.Step(1.0, options.NoiseMultiplier, steps);
        return accountant.Epsilon(options.Delta, options.Conversion);
    }

    public ClientDpAggregator Aggregator => _dp;
    /// <summary>The last release (ε after it), null before the first step.</summary>
    public DpRelease? Last { get; private set; }
    /// <summary>ε at δ spent so far under the sampling assumption (also after a restore), null before the first step.</summary>
    public PrivacySpent? Spent => Last?.Spent ?? (_dp.Accountant.Steps > 0 ? _dp.Accountant.Epsilon(_options.Delta, _options.Conversion) : null);
    /// <summary>The participation cap c, null without one.</summary>
    public int? Cap => _options.MaxParticipations;

    /// <summary>The accountant, clip norm and released steps per device as JSON: a server stores it with every version, atomically.</summary>
    public string SaveState() => JsonSerializer.Serialize(_dp.ToState() with { StepsPerDevice = new(_releasedPerDevice) }, Json);

    /// <summary>
    /// Continues from <see cref="SaveState"/> after a restart: the steps already released stay counted, and so do each
    /// device's (a capped device is retired again). States saved without per-device counts load with none.
    /// </summary>
    public void RestoreState(string json)
    {
        var state = JsonSerializer.Deserialize<ClientDpState>(json, Json)
            ?? throw new FormatException("The stored privacy state is empty.");
        _dp = new ClientDpAggregator(_parameters, _aggregatorOptions, _noise, _released, state);
        Last = null;
        _held.Clear();
        _inStep.Clear();
        _releasedPerDevice.Clear();
        foreach (var (device, steps) in state.StepsPerDevice ?? [])
        {
            _releasedPerDevice[device] = steps;
            if (Cap is { } cap && steps >= cap) _participation.Retire(device);
        }
        CheckPool();
    }
    /// <summary>Why no more steps may be released (the budget, or too few devices under the cap), null while training may go on.</summary>
    public string? Exhausted { get; private set; }
    public int Count => _dp.Count;
    /// <summary>Updates waiting because their device already has one in the current step.</summary>
    public int Held => _held.Count;

    /// <summary>Released steps this device contributed to.</summary>
    public long StepsOf(int deviceId) => _releasedPerDevice.GetValueOrDefault(deviceId);

    /// <summary>False when the device's accepted updates already fill its participation cap: refuse the update (it would be its c+1-th step).</summary>
    public bool Admits(int deviceId) => Cap is not { } cap || Pledged(deviceId) < cap;

    /// <summary>Adds an update (or holds it for the next step); true when the step has its K updates. The device must be <see cref="Admits">admitted</see>.</summary>
    public bool Add(ClientUpdate update, double weight)
    {
        int device = update.DeviceId;
        if (!Admits(device))
            throw new InvalidOperationException($"Device {device} has used up its participation cap of {Cap} released steps; its update must be refused.");
        if (_dp.HasContributed(device)) _held.Enqueue((update, weight));
        else
        {
            _dp.Add(update, weight);
            _inStep.Add(device);
        }
        // Work sent after this could not be used: the device gets no more tasks.
        if (Cap is { } cap && Pledged(device) >= cap) _participation.Retire(device);
        return _dp.Count >= _dp.Options.BufferSize;
    }

    /// <summary>
    /// Secure aggregation: the unmasked sum of <paramref name="devices"/>' clipped (and, in distributed mode, noised)
    /// updates makes the step, each device once (the group guarantees it).
    /// </summary>
    public void AddSecureSum(ReadOnlySpan<float> sum, IReadOnlyCollection<int> devices)
    {
        _dp.AddSecureSum(sum, devices);
        _inStep.UnionWith(devices);
    }

    /// <summary>The most steps any one device has contributed to.</summary>
    public long MostStepsByOneDevice => _releasedPerDevice.Count == 0 ? 0 : _releasedPerDevice.Values.Max();

    /// <summary>
    /// A bound that does not assume sampling: the device that took part most often, c_max times, is protected at least as
    /// well as c_max unsampled Gaussian mechanisms (q = 1) compose to. The headline ε assumes q = K/N per step, which a
    /// buffered server does not draw (fast devices land in far more steps); this figure is the honest worst case beside it,
    /// and with a cap it is at most <see cref="UnsampledEpsilon"/>(c), promised before the run.
    /// </summary>
    public PrivacySpent? UnsampledBound()
    {
        long c = MostStepsByOneDevice;
        return c == 0 ? null : UnsampledEpsilon(_options, c);
    }

    /// <summary>Releases the step onto <paramref name="weights"/>; false (and <see cref="Exhausted"/> set) when the budget refuses it.
    /// <see cref="Exhausted"/> may also be set after a release, when fewer than K devices remain under the cap.</summary>
    public bool TryRelease(Span<float> weights, double serverLearningRate)
    {
        double q = ClientDpAggregator.SamplingRate(_dp.Options.BufferSize, Math.Max(1, OpenDevices));
        string? refusal = null;
        if (Cap is { } cap)
        {
            long most = _inStep.Max(StepsOf) + 1;
            if (most > _guaranteeLimit)
                refusal = string.Create(CultureInfo.InvariantCulture,
                    $"privacy budget (per-device guarantee, participation cap {cap}): a device would take part in {most:N0} released steps and its ε would reach " +
                    $"{PrivacyFormat.Epsilon(UnsampledEpsilon(_options, most).Epsilon, _options.MaxEpsilon!.Value)} > {_options.MaxEpsilon:0.######} at δ={PrivacyFormat.Delta(_options.Delta)} without sampling");
        }
        else if (_dp.CheckBudget(q) is { Allowed: false } check)
            refusal = $"privacy budget: {check.Reason}";
        if (refusal is not null)
        {
            Exhausted = refusal;
            _dp.Clear();
            _held.Clear();
            _inStep.Clear();
            return false;
        }
        Last = _dp.Release(weights, q, serverLearningRate);
        foreach (int d in _inStep) _releasedPerDevice[d] = StepsOf(d) + 1;
        _inStep.Clear();
        // Held updates (a device's later update) start the next step, one per device.
        int n = _held.Count;
        for (int i = 0; i < n; i++)
        {
            var (u, w) = _held.Dequeue();
            if (_dp.HasContributed(u.DeviceId)) _held.Enqueue((u, w));
            else
            {
                _dp.Add(u, w);
                _inStep.Add(u.DeviceId);
            }
        }
        CheckPool();
        return true;
    }

    /// <summary>Accepted updates of a device not yet released: the released count plus one in the step and any held.</summary>
    private long Pledged(int deviceId)
    {
        long pledged = StepsOf(deviceId) + (_inStep.Contains(deviceId) ? 1 : 0);
        foreach (var (u, _) in _held)
            if (u.DeviceId == deviceId) pledged++;
        return pledged;
    }

    /// <summary>
    /// Devices that can be in the current step: the pool, plus retired devices whose last allowed update is in it (held
    /// updates belong to devices in the step). The population q is taken over, and what a step can still be made of.
    /// </summary>
    private int OpenDevices => _participation.EligibleDevices + _inStep.Count(_participation.IsRetired);

    /// <summary>With a cap, a step needs K distinct devices under it: with fewer, no step can ever complete, so the run ends.</summary>
    private void CheckPool()
    {
        if (Cap is not { } cap || Exhausted is not null) return;
        int open = OpenDevices, k = _dp.Options.BufferSize;
        if (open < k)
            Exhausted = $"participation cap: {open} device(s) can still be in a step, fewer than the K = {k} a step needs; {_participation.RetiredDevices:N0} have reached the cap of {cap} steps (counting updates already accepted)";
    }
}
