using Ftte.Engine;
using Ftte.Engine.Training;

namespace Ftte.Federation;

/// <summary>How the model travels to a device for a task.</summary>
public enum Broadcast
{
    /// <summary>Every tensor, every task.</summary>
    FullModel,
    /// <summary>
    /// Only the trainable part per task; the frozen part is downloaded once and cached on the device,
    /// keyed by its hash (FTTE's partial broadcast). First contact costs the full model.
    /// </summary>
    TrainableOnly,
}

/// <summary>Local training hyper-parameters of a task.</summary>
/// <param name="Epochs">Passes over the device's local training data.</param>
/// <param name="BatchSize">Mini-batch size; also the batch the memory plan is made for.</param>
/// <param name="Optimizer">Device optimizer; its learning rate is the local rate.</param>
/// <param name="Schedule">Learning-rate schedule over the task's steps.</param>
public sealed record LocalTraining(int Epochs, int BatchSize, OptimizerOptions Optimizer, LearningRateSchedule Schedule)
{
    public static LocalTraining Default { get; } = new(1, 16, new SgdOptions { LearningRate = 0.05f }, LearningRateSchedule.Constant);

    public override string ToString() => $"{Epochs} epoch(s), batch {BatchSize}, {Optimizer.Name} lr {Optimizer.LearningRate}";
}

/// <summary>
/// The upload of a task under secure aggregation: the trained coordinates as masked ring elements of
/// <paramref name="WordBytes"/> bytes each (the values' own codec no longer applies: masks fill the whole ring).
/// </summary>
public sealed record MaskedUpload(int WordBytes)
{
    /// <summary>Round id, client id, count (16 bytes) and one word per trained coordinate.</summary>
    public long Bytes(int trainedCount) => 16 + (long)WordBytes * trainedCount;
}

/// <summary>What a strategy asks one device to do: train this subset with these settings and send back Δ.</summary>
/// <param name="Masked">Secure aggregation: Δ travels masked (see <see cref="MaskedUpload"/>); null: in the clear.</param>
public sealed record TaskSpec(TrainableSet Trainable, LocalTraining Local, Broadcast Broadcast = Broadcast.FullModel, MaskedUpload? Masked = null)
{
    /// <summary>Stable text of the trainable set: the key for plan, payload and cache lookups.</summary>
    public string TrainableKey { get; } = Trainable.ToString();
}

/// <summary>A dispatched task as both sides refer to it.</summary>
/// <param name="TaskId">Unique per run, increasing in dispatch order.</param>
/// <param name="BaseVersion">Global version the device trains from.</param>
/// <param name="DispatchedAt">Host time (virtual seconds in simulation).</param>
public sealed record TaskTicket(long TaskId, int DeviceId, int BaseVersion, double DispatchedAt, TaskSpec Spec);
