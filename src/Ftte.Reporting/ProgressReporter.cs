using System.Text;
using Ftte.Reporting.Internal;

namespace Ftte.Reporting;

/// <summary>Options of <see cref="ProgressReporter"/>; each default is stated.</summary>
public sealed class ProgressOptions
{
    /// <summary>Where to write; default <see cref="Console.Error"/>, so stdout stays clean for <c>--json</c>.</summary>
    public TextWriter? Output { get; init; }
    /// <summary>True: redraw one line with <c>\r</c>; false: plain lines. Default null: true when
    /// <see cref="Output"/> is the console's stderr (stdout) and that stream is not redirected.</summary>
    public bool? Interactive { get; init; }
    /// <summary>Least wall-clock time between two redraws of the line in interactive mode; default 0.1 s.</summary>
    public double RedrawIntervalSeconds { get; init; } = 0.1;
    /// <summary>Least wall-clock time between two plain lines; default 10 s.</summary>
    public double PlainIntervalSeconds { get; init; } = 10;
    /// <summary>Characters of the bar; default 20.</summary>
    public int BarWidth { get; init; } = 20;
    /// <summary>Wall clock in seconds (any origin); default a <see cref="System.Diagnostics.Stopwatch"/>. Tests pass a fake.</summary>
    public Func<double>? WallClock { get; init; }
}

/// <summary>
/// A live progress line for a long run:
/// <c>fedbuff  [########------------]  42%  t 1 h 02 min  v 123  acc 91.20%  ETA 3 min 10 s</c>.
/// Interactive (a terminal) it redraws one line with <c>\r</c>, at most every
/// <see cref="ProgressOptions.RedrawIntervalSeconds"/>; otherwise (a log file, CI) it prints a plain line
/// at the first report and then at most every <see cref="ProgressOptions.PlainIntervalSeconds"/>. Either
/// way <see cref="Complete"/> prints the run's final line. The ETA extrapolates the wall-clock time spent
/// so far over the fraction done. A report for another strategy completes the current line and restarts
/// the ETA, so runs of a comparison may share one reporter. Thread-safe.
/// </summary>
public sealed class ProgressReporter : IDisposable
{
    private readonly object _gate = new();
    private readonly double _total;
    private readonly TextWriter _output;
    private readonly bool _interactive;
    private readonly ProgressOptions _options;
    private readonly Func<double> _clock;

    private string? _strategy;
    private double _start;
    private double _lastWrite = double.NegativeInfinity;
    private int _lastLength;
    private bool _open;         // a run begun and not completed
    private string _line = "";

    /// <param name="total">The amount that means done, in the unit of <c>virtualTime</c> (e.g. the run's
    /// virtual-time limit in seconds); used when a report gives no fraction.</param>
    public ProgressReporter(double total, ProgressOptions? options = null)
    {
        if (!(total > 0) || !double.IsFinite(total))
            throw new ArgumentOutOfRangeException(nameof(total), total, "The progress total must be a positive finite number (e.g. the run's virtual-time limit in seconds).");
        _options = options ?? new ProgressOptions();
        if (_options.BarWidth < 1 || _options.RedrawIntervalSeconds < 0 || _options.PlainIntervalSeconds < 0)
            throw new ArgumentOutOfRangeException(nameof(options), "BarWidth must be at least 1 and the intervals 0 or more.");
        _total = total;
        _output = _options.Output ?? Console.Error;
        _interactive = _options.Interactive ?? DefaultInteractive(_output);
        if (_options.WallClock is { } clock)
        {
            _clock = clock;
        }
        else
        {
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            _clock = () => stopwatch.Elapsed.TotalSeconds;
        }
    }

    public bool Interactive => _interactive;

    /// <summary>Reports the state of run <paramref name="strategy"/>; writes only when the throttle allows.</summary>
    /// <param name="fraction">Share done in [0, 1]; default <paramref name="virtualTime"/> / total.</param>
    public void Report(string strategy, double virtualTime, int version, double accuracy, double? fraction = null)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        lock (_gate)
        {
            double now = _clock();
            if (_open && !string.Equals(strategy, _strategy, StringComparison.Ordinal))
                CompleteLocked();
            if (!_open)
            {
                _open = true;
                _strategy = strategy;
                _start = now;
                _lastWrite = double.NegativeInfinity;
            }

            double done = Math.Clamp(fraction ?? virtualTime / _total, 0, 1);
            if (double.IsNaN(done))
                done = 0;
            _line = FormatLine(strategy, done, virtualTime, version, accuracy, Eta(now - _start, done));

            double interval = _interactive ? _options.RedrawIntervalSeconds : _options.PlainIntervalSeconds;
            if (now - _lastWrite >= interval)
            {
                WriteLine(final: false);
                _lastWrite = now;
            }
        }
    }

    /// <summary>Writes the current run's final line (unthrottled; ends the line in interactive mode). No-op without an open run.</summary>
    public void Complete()
    {
        lock (_gate)
            CompleteLocked();
    }

    public void Dispose() => Complete();

    /// <summary>"ETA 3 min 10 s", or "ETA --" before any progress; "done" at 100 %.</summary>
    public static string FormatEta(double? remainingSeconds) =>
        remainingSeconds switch
        {
            null => "ETA --",
            <= 0 => "done",
            double s => "ETA " + HumanFormat.Duration(s),
        };

    /// <summary>Remaining wall time by linear extrapolation, or null when nothing is done yet.</summary>
    internal static double? Eta(double elapsedSeconds, double fractionDone) =>
        fractionDone <= 0 || elapsedSeconds < 0 ? null
        : fractionDone >= 1 ? 0
        : elapsedSeconds / fractionDone * (1 - fractionDone);

    private void CompleteLocked()
    {
        if (!_open)
            return;
        WriteLine(final: true);
        if (_interactive)
            _output.Write('\n');
        _output.Flush();
        _open = false;
        _lastLength = 0;
    }

    private void WriteLine(bool final)
    {
        string line = final && !_interactive ? _line + "  (final)" : _line;
        if (_interactive)
        {
            // Pad over the tail of a longer previous line.
            _output.Write('\r');
            _output.Write(line);
            if (line.Length < _lastLength)
                _output.Write(new string(' ', _lastLength - line.Length));
            _lastLength = line.Length;
        }
        else
        {
            _output.Write(line);
            _output.Write('\n');
        }
        _output.Flush();
    }

    private string FormatLine(string strategy, double done, double virtualTime, int version, double accuracy, double? eta)
    {
        int filled = (int)Math.Floor(done * _options.BarWidth);
        var sb = new StringBuilder(96);
        sb.Append(strategy).Append("  [").Append('#', filled).Append('-', _options.BarWidth - filled).Append("] ")
          .Append(Invariant.Fixed(done * 100, 0).PadLeft(3)).Append("%  t ").Append(HumanFormat.Duration(virtualTime))
          .Append("  v ").Append(Invariant.Integer(version))
          .Append("  acc ").Append(Invariant.Percent(accuracy, 2))
          .Append("  ").Append(FormatEta(eta));
        return sb.ToString();
    }

    private static bool DefaultInteractive(TextWriter output)
    {
        if (ReferenceEquals(output, Console.Error))
            return !Console.IsErrorRedirected;
        if (ReferenceEquals(output, Console.Out))
            return !Console.IsOutputRedirected;
        return false;
    }
}
