namespace Ftte.Simulation;

/// <summary>How a simulated run is driven and measured; every default is stated on its property.</summary>
public sealed record SimulationOptions
{
    /// <summary>Virtual seconds after which the run stops. Default 3600.</summary>
    public double MaxSeconds { get; init; } = 3600;
    /// <summary>Stop once the global model reaches this version; null for no limit. Default null.</summary>
    public int? MaxVersions { get; init; }
    /// <summary>Accuracy that "time to target" is measured against. Default 0.9.</summary>
    public double TargetAccuracy { get; init; } = 0.9;
    /// <summary>Stop as soon as an evaluation reaches the target. Default false.</summary>
    public bool StopAtTarget { get; init; }
    /// <summary>Evaluate the global model at most this often in virtual seconds (and at start and end). Default 60.</summary>
    public double EvalEverySeconds { get; init; } = 60;
    /// <summary>Test samples evaluated (a fixed seeded subset); 0 for the whole test set. Default 0.</summary>
    public int EvalSamples { get; init; }
    /// <summary>Host threads that train tasks; results do not depend on it. Default: processor count.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;
    /// <summary>Seed of task seeds, dropouts and availability. Default 1.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Let every device run every task regardless of memory (like-for-like comparisons). Default false.</summary>
    public bool IgnoreMemory { get; init; }
    /// <summary>Buckets of the staleness histogram; the last holds τ ≥ buckets−1. Default 16.</summary>
    public int StalenessBuckets { get; init; } = 16;

    internal void Validate()
    {
        if (!(MaxSeconds > 0)) throw new ArgumentOutOfRangeException(nameof(MaxSeconds), MaxSeconds, "maxSeconds must be > 0.");
        if (MaxVersions is < 1) throw new ArgumentOutOfRangeException(nameof(MaxVersions), MaxVersions, "maxVersions must be ≥ 1 or absent.");
        if (!(EvalEverySeconds > 0)) throw new ArgumentOutOfRangeException(nameof(EvalEverySeconds), EvalEverySeconds, "evalEverySeconds must be > 0.");
        if (EvalSamples < 0) throw new ArgumentOutOfRangeException(nameof(EvalSamples), EvalSamples, "evalSamples must be ≥ 0 (0 = whole test set).");
        if (Workers < 1) throw new ArgumentOutOfRangeException(nameof(Workers), Workers, "workers must be ≥ 1.");
        if (StalenessBuckets < 2) throw new ArgumentOutOfRangeException(nameof(StalenessBuckets), StalenessBuckets, "stalenessBuckets must be ≥ 2.");
    }
}

/// <summary>Where a run is, for progress displays; the host-time figures let benchmarks split the wall time.</summary>
public readonly record struct SimulationProgress(string Strategy, double Time, double MaxTime, int Version, double Accuracy)
{
    /// <summary>Host wall-clock seconds since the run started.</summary>
    public double WallSeconds { get; init; }
    /// <summary>Host seconds spent inside engine training so far, summed over workers (tasks trained ahead included).</summary>
    public double TrainingSeconds { get; init; }
    /// <summary>Samples the engine has trained on so far (samples × epochs, over every task trained).</summary>
    public long TrainingSamples { get; init; }
    /// <summary>Host seconds spent evaluating the global model so far, this evaluation included.</summary>
    public double EvaluationSeconds { get; init; }
}
