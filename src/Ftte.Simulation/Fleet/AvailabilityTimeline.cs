using Ftte.Core;

namespace Ftte.Simulation.Fleet;

/// <summary>
/// When one device is online, as a pure function of its <see cref="Availability"/> and a seed: every query
/// order gives the same answers. Time is in seconds from the start of the run (t = 0 is midnight for
/// <see cref="AvailabilityKind.Daily"/>), never negative.
/// </summary>
/// <remarks>
/// Markov windows are generated lazily from the seed. A cursor remembers the current window, so
/// nondecreasing queries (the simulator's pattern) cost O(1) amortised with O(1) memory; a query before
/// the cursor replays the windows from the seed, which gives the same windows again.
/// Not thread-safe (the cursor moves on reads).
/// </remarks>
public sealed class AvailabilityTimeline
{
    private const double SecondsPerDay = 86_400;

    private readonly Availability _spec;
    private readonly ulong _seed;

    // Markov cursor: the window [_start, _end) with state _online; _rng yields the following window lengths.
    private Rng? _rng;
    private double _start, _end;
    private bool _online;

    // Daily, in seconds: the window starts _dailyStart after each cycle start and lasts _dailyLength.
    private readonly double _dailyStart, _dailyLength;

    public AvailabilityTimeline(Availability spec, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        _spec = spec;
        _seed = seed;
        _dailyStart = spec.DailyStartHour * 3600;
        _dailyLength = spec.DailyHours * 3600;
    }

    public Availability Spec => _spec;

    /// <summary>Whether the device is online at time <paramref name="t"/> (a window includes its start, not its end).</summary>
    public bool IsOnline(double t)
    {
        Locate(t, out bool online, out _);
        return online;
    }

    /// <summary>The first time after <paramref name="t"/> at which the online state flips; +∞ if it never does.</summary>
    public double NextChange(double t)
    {
        Locate(t, out _, out double end);
        return end;
    }

    /// <summary>Seconds spent online in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public double OnlineSeconds(double from, double to)
    {
        CheckTime(from, nameof(from));
        CheckTime(to, nameof(to));
        if (to < from) throw new ArgumentOutOfRangeException(nameof(to), to, $"'to' must be ≥ 'from' ({from}).");
        double total = 0, t = from;
        while (t < to)
        {
            Locate(t, out bool online, out double end);
            double stop = Math.Min(end, to);
            if (online) total += stop - t;
            t = stop;
        }
        return total;
    }

    /// <summary>The state at <paramref name="t"/> and the end of the window that holds it (the next flip).</summary>
    private void Locate(double t, out bool online, out double end)
    {
        CheckTime(t, nameof(t));
        switch (_spec.Kind)
        {
            case AvailabilityKind.Markov:
                LocateMarkov(t, out online, out end);
                break;
            case AvailabilityKind.Daily:
                LocateDaily(t, out online, out end);
                break;
            default:
                online = true;
                end = double.PositiveInfinity;
                break;
        }
    }

    private void LocateMarkov(double t, out bool online, out double end)
    {
        if (_rng is null || t < _start) Restart();
        while (t >= _end)
        {
            _online = !_online;
            _start = _end;
            _end = _start + WindowLength(_online);
        }
        online = _online;
        end = _end;
    }

    private void Restart()
    {
        _rng = new Rng(_seed);
        // Stationary start: the run begins at a random moment of a long-running process, so the device is
        // online with probability on/(on+off) and, windows being memoryless, the rest of the current
        // window is again exponential with the full mean.
        _online = _rng.NextDouble() < _spec.OnlineFraction;
        _start = 0;
        _end = WindowLength(_online);
    }

    private double WindowLength(bool online)
    {
        // u in (0, 1) strictly, so the length is finite and > 0: no zero-length window can hide a flip.
        double u = ((_rng!.NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));
        return -Math.Log(u) * (online ? _spec.MeanOnSeconds : _spec.MeanOffSeconds);
    }

    private void LocateDaily(double t, out bool online, out double end)
    {
        if (_dailyLength >= SecondsPerDay)
        {
            online = true;
            end = double.PositiveInfinity;
            return;
        }
        // Cycle k starts at CycleStart(k) and is online for its first _dailyLength seconds; the start hour
        // may be late in the day, so the window wraps past midnight into the next day by construction.
        // Every boundary is computed by CycleStart alone, so IsOnline(NextChange(t)) always sees the flip.
        double k = Math.Floor((t - _dailyStart) / SecondsPerDay);
        if (t < CycleStart(k)) k--;
        else if (t >= CycleStart(k + 1)) k++;
        double onEnd = CycleStart(k) + _dailyLength;
        online = t < onEnd;
        end = online ? onEnd : CycleStart(k + 1);
    }

    private double CycleStart(double k) => _dailyStart + k * SecondsPerDay;

    private static void CheckTime(double t, string name)
    {
        if (!(t >= 0) || double.IsInfinity(t))
            throw new ArgumentOutOfRangeException(name, t, "Time must be a finite number of seconds ≥ 0.");
    }
}
