namespace Ftte.Engine.Training;

public enum ScheduleKind { Constant, Cosine, Linear }

/// <summary>
/// Learning rate as a factor of the optimizer's base rate over the steps of one training call:
/// optional linear warm-up, then constant, cosine annealing to <see cref="MinFactor"/>
/// (Loshchilov &amp; Hutter 2017, without restarts), or linear decay to it.
/// </summary>
public sealed record LearningRateSchedule(ScheduleKind Kind, int WarmupSteps = 0, float MinFactor = 0f)
{
    public static LearningRateSchedule Constant { get; } = new(ScheduleKind.Constant);
    public static LearningRateSchedule Cosine { get; } = new(ScheduleKind.Cosine);

    /// <summary>Factor for 0-based <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public float Factor(int step, int totalSteps)
    {
        if (step < WarmupSteps) return (step + 1f) / WarmupSteps;
        if (Kind == ScheduleKind.Constant || totalSteps <= WarmupSteps) return 1f;
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / Math.Max(1, totalSteps - WarmupSteps));
        double shape = Kind == ScheduleKind.Cosine ? 0.5 * (1 + Math.Cos(Math.PI * progress)) : 1 - progress;
        return (float)(MinFactor + (1 - MinFactor) * shape);
    }

    public static LearningRateSchedule Parse(string text) => text switch
    {
        "constant" => Constant,
        "cosine" => Cosine,
        "linear" => new(ScheduleKind.Linear),
        _ => throw new FormatException($"Learning-rate schedule '{text}' is not known; use constant, cosine or linear."),
    };
}
