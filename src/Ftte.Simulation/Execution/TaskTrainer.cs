using System.Collections.Concurrent;
using System.Diagnostics;
using Ftte.Core;
using Ftte.Data;
using Ftte.Engine;
using Ftte.Engine.Training;
using Ftte.Federation;
using Ftte.Federation.Compression;

namespace Ftte.Simulation.Execution;

/// <summary>The work of one task: train a copy of the base weights on the device's data.</summary>
internal sealed class TrainingJob(TaskTicket ticket, float[] baseWeights, DatasetView data, ulong seed)
{
    private readonly TaskCompletionSource<TrainingOutcome> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskTicket Ticket { get; } = ticket;
    public float[] BaseWeights { get; } = baseWeights;
    public DatasetView Data { get; } = data;
    public ulong Seed { get; } = seed;
    /// <summary>The device's update codec: the worker replaces Δ's trained coordinates by what the server decodes. Null: uncompressed.</summary>
    public UpdateCodec? Codec { get; init; }
    /// <summary>A copy of the device's error-feedback residual, updated by the encoding; the loop keeps it if the update is delivered.</summary>
    public ErrorFeedback? Feedback { get; init; }
    /// <summary>Set by the loop when the strategy cancels the task: a worker that has not started skips it.</summary>
    public volatile bool Cancelled;

    public Task<TrainingOutcome> Result => _done.Task;
    internal void Complete(TrainingOutcome outcome) => _done.SetResult(outcome);
    internal void Fail(Exception e) => _done.SetException(e);
}

/// <summary>What training produced: Δ over the whole model (zero outside the trained ranges) and the ranges.</summary>
internal sealed record TrainingOutcome(float[] Delta, WeightRange[] Ranges, TrainingResult Result, double WallSeconds);

/// <summary>
/// Trains tasks on worker threads, each with its own model copy and training sessions. A task's result
/// depends only on its base weights, data and seed — never on which worker ran it or when — so a run
/// gives identical results for 1 or N workers; the loop consumes results in virtual-time order.
/// </summary>
internal sealed class TaskTrainer : IDisposable
{
    private readonly BlockingCollection<TrainingJob> _jobs = new(new ConcurrentQueue<TrainingJob>());
    private readonly Thread[] _threads;
    private long _trainingTicks;
    private long _trainingSamples;

    public TaskTrainer(Model architecture, int workers)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "At least one worker is needed.");
        _threads = new Thread[workers];
        for (int i = 0; i < workers; i++)
        {
            var model = architecture.Clone();
            _threads[i] = new Thread(() => Work(model)) { IsBackground = true, Name = $"ftte-sim-worker-{i}" };
            _threads[i].Start();
        }
    }

    public int Workers => _threads.Length;
    /// <summary>Wall-clock seconds spent inside engine training, summed over workers.</summary>
    public double TrainingSeconds => Interlocked.Read(ref _trainingTicks) / (double)Stopwatch.Frequency;
    /// <summary>Samples trained on, summed over tasks and epochs.</summary>
    public long TrainingSamples => Interlocked.Read(ref _trainingSamples);

    public void Submit(TrainingJob job) => _jobs.Add(job);

    private void Work(Model model)
    {
        var executor = new TaskExecutor(model);
        foreach (var job in _jobs.GetConsumingEnumerable())
        {
            if (job.Cancelled) { job.Complete(null!); continue; }
            try
            {
                long start = Stopwatch.GetTimestamp();
                var local = executor.Run(job.Ticket.Spec, job.BaseWeights, job.Data, job.Seed);
                // Stochastic rounding draws from the task's own stream: the same update whatever worker encodes it, and when.
                if (job.Codec is { } codec)
                    UpdateCompression.RoundTrip(codec, local.Delta, local.Ranges, UpdateCompression.EncodingRng(job.Seed), job.Feedback);
                long ticks = Stopwatch.GetTimestamp() - start;
                Interlocked.Add(ref _trainingTicks, ticks);
                Interlocked.Add(ref _trainingSamples, (long)job.Data.Count * job.Ticket.Spec.Local.Epochs);
                job.Complete(new TrainingOutcome(local.Delta, local.Ranges, local.Training, ticks / (double)Stopwatch.Frequency));
            }
            catch (Exception e)
            {
                job.Fail(e);
            }
        }
    }

    public void Dispose()
    {
        _jobs.CompleteAdding();
        foreach (var t in _threads) t.Join();
        _jobs.Dispose();
    }
}
