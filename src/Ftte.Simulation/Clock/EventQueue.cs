namespace Ftte.Simulation.Clock;

internal enum EventKind { DownloadDone, TrainingDone, UploadDone, Failed, Timer, Wake }

/// <summary>One scheduled happening. <see cref="Task"/> is the task id for task events, the tag for timers.</summary>
internal readonly record struct SimEvent(double Time, EventKind Kind, long Task);

/// <summary>
/// The discrete-event clock: events pop in time order; equal times pop in scheduling order, so a run is
/// a pure function of its inputs (no ties broken by hashing or threads).
/// </summary>
internal sealed class EventQueue
{
    private readonly PriorityQueue<SimEvent, (double Time, long Sequence)> _queue = new();
    private long _sequence;

    public int Count => _queue.Count;

    public void Schedule(double time, EventKind kind, long task = 0) =>
        _queue.Enqueue(new SimEvent(time, kind, task), (time, _sequence++));

    public bool TryPeekTime(out double time)
    {
        if (_queue.TryPeek(out _, out var priority)) { time = priority.Time; return true; }
        time = double.PositiveInfinity;
        return false;
    }

    public SimEvent Dequeue() => _queue.Dequeue();
}
