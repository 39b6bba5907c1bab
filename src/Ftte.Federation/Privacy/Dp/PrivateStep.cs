using System.Text.Json;
using Ftte.Engine;

namespace Ftte.Federation.Privacy;

/// <summary>
/// A buffered strategy's server step under client-level DP (central mode), as FedBuff and FTTE use it: updates are
/// clipped into a <see cref="ClientDpAggregator"/> with their age weight (≤ 1), a device's second update within one
/// step waits for the next step (so one step holds one update per device: sensitivity C), and at K updates the step
/// is released with q = K / eligible devices — unless ε would pass ε_max, in which case nothing is released and
/// <see cref="Exhausted"/> says why (the host ends the run).
/// </summary>
public sealed class PrivateStep
{
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    private readonly int _parameters;
    private readonly ClientDpOptions _options;
    private readonly NoiseSource _noise;
    private readonly IReadOnlyList<WeightRange>? _released;
    private ClientDpAggregator _dp;
    private readonly Queue<(ClientUpdate Update, double Weight)> _held = new();
    private readonly Dictionary<int, long> _releasedPerDevice = [];
    private readonly HashSet<int> _inStep = [];

    public PrivateStep(int parameters, ClientDpOptions options, NoiseSource noise, IReadOnlyList<WeightRange>? released)
    {
        (_parameters, _options, _noise, _released) = (parameters, options, noise, released);
        _dp = new ClientDpAggregator(parameters, options, noise, released);
    }

    /// <summary>A step holds one update per device, so it needs at least K devices that can take part.</summary>
    public static void RequireEnoughDevices(string strategy, int bufferSize, int eligibleDevices)
    {
        if (eligibleDevices < bufferSize)
            throw new InvalidOperationException(
                $"{strategy} with differential privacy needs at least K = {bufferSize} devices that can take part (a step holds one update per device); {eligibleDevices} can. Lower bufferSize or add devices.");
    }

    public ClientDpAggregator Aggregator => _dp;
    /// <summary>The last release (ε after it), null before the first step.</summary>
    public DpRelease? Last { get; private set; }
    /// <summary>ε at δ spent so far (also after a restore), null before the first step.</summary>
    public PrivacySpent? Spent => Last?.Spent ?? (_dp.Accountant.Steps > 0 ? _dp.Accountant.Epsilon(_options.Delta, _options.Conversion) : null);

    /// <summary>The accountant and clip norm as JSON: a server stores it with every version, atomically.</summary>
    public string SaveState() => JsonSerializer.Serialize(_dp.ToState(), Json);

    /// <summary>Continues from <see cref="SaveState"/> after a restart: the steps already released stay counted.</summary>
    public void RestoreState(string json)
    {
        var state = JsonSerializer.Deserialize<ClientDpState>(json, Json)
            ?? throw new FormatException("The stored privacy state is empty.");
        _dp = new ClientDpAggregator(_parameters, _options, _noise, _released, state);
        Last = null;
    }
    /// <summary>Why no more steps may be released (the budget), null while training may go on.</summary>
    public string? Exhausted { get; private set; }
    public int Count => _dp.Count;
    /// <summary>Updates waiting because their device already has one in the current step.</summary>
    public int Held => _held.Count;

    /// <summary>Adds an update (or holds it for the next step); true when the step has its K updates.</summary>
    public bool Add(ClientUpdate update, double weight)
    {
        if (_dp.HasContributed(update.DeviceId)) _held.Enqueue((update, weight));
        else
        {
            _dp.Add(update, weight);
            _inStep.Add(update.DeviceId);
        }
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
    public long MaxStepsPerDevice => _releasedPerDevice.Count == 0 ? 0 : _releasedPerDevice.Values.Max();

    /// <summary>
    /// A bound that does not assume sampling: the device that took part most often, c_max times, is protected at least as
    /// well as c_max unsampled Gaussian mechanisms (q = 1) compose to. The headline ε assumes q = K/N per step, which a
    /// buffered server does not draw (fast devices land in far more steps); this figure is the honest worst case beside it.
    /// </summary>
    public PrivacySpent? UnsampledBound()
    {
        long c = MaxStepsPerDevice;
        if (c == 0) return null;
        var accountant = new RdpAccountant(_options.Orders);
        accountant.Step(1.0, _options.NoiseMultiplier, c);
        return accountant.Epsilon(_options.Delta, _options.Conversion);
    }

    /// <summary>Releases the step onto <paramref name="weights"/>; false (and <see cref="Exhausted"/> set) when the budget refuses it.</summary>
    public bool TryRelease(Span<float> weights, int eligibleDevices, double serverLearningRate)
    {
        double q = ClientDpAggregator.SamplingRate(_dp.Options.BufferSize, Math.Max(1, eligibleDevices));
        var check = _dp.CheckBudget(q);
        if (!check.Allowed)
        {
            Exhausted = $"privacy budget: {check.Reason}";
            _dp.Clear();
            _held.Clear();
            _inStep.Clear();
            return false;
        }
        Last = _dp.Release(weights, q, serverLearningRate);
        foreach (int d in _inStep) _releasedPerDevice[d] = _releasedPerDevice.GetValueOrDefault(d) + 1;
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
        return true;
    }
}
