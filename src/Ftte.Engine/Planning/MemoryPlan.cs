using System.Globalization;
using System.Text;
using System.Text.Json;
using Ftte.Engine.Layers;
using Ftte.Engine.Training;

namespace Ftte.Engine.Planning;

/// <summary>
/// The exact memory and compute of one training (or inference) configuration:
/// (model, trainable set, batch, optimizer). The categories add up to <see cref="PeakBytes"/>:
/// weights (frozen + trainable, the model's parameter block) + the arena (gradients, optimizer state,
/// the input batch and labels, activations saved for backward, transient activations and workspace at the arena's peak).
/// </summary>
public sealed class MemoryPlan
{
    internal MemoryPlan(Model model, int batch, OptimizerOptions? optimizer, string trainable, PlannedBuffer[] buffers,
        LayerNeeds[] needs, NodeBuffers[] layout, int input, int labels, int[] parameterGradients, int[] optimizerStates,
        long trainableElements, long forwardFlops, long backwardFlops, int lossStep, int streamedPrefix, int streamChunk)
    {
        StreamedPrefix = streamedPrefix;
        StreamChunk = streamChunk;
        StreamedThrough = streamedPrefix > 0 ? model.Layers[streamedPrefix - 1].Name : null;
        ModelName = model.Name;
        Batch = batch;
        Optimizer = optimizer;
        TrainableSet = trainable;
        Buffers = buffers;
        Needs = needs;
        Layout = layout;
        InputBuffer = input;
        LabelsBuffer = labels;
        ParameterGradientBuffers = parameterGradients;
        OptimizerStateBuffers = optimizerStates;
        ForwardFlopsPerSample = forwardFlops;
        BackwardFlopsPerSample = backwardFlops;

        TrainableWeightBytes = trainableElements * sizeof(float);
        FrozenWeightBytes = model.ParameterBytes - TrainableWeightBytes;
        ArenaFloats = buffers.Length == 0 ? 0 : buffers.Max(b => b.Offset + b.Floats);
        GradientBytes = SumBytes(BufferKind.ParameterGradient);
        OptimizerStateBytes = SumBytes(BufferKind.OptimizerState);
        // Saved for backward: alive from a forward step across the loss into a backward step. All of these
        // are alive together at the loss step, so they are all part of the peak.
        SavedActivationBytes = buffers.Where(b => b.Kind is BufferKind.Saved or BufferKind.Activation
                                                  && b.FirstStep < lossStep && b.LastStep > lossStep).Sum(b => b.Bytes);
        BatchBytes = SumBytes(BufferKind.Input) + SumBytes(BufferKind.Labels);
        TransientBytes = ArenaBytes - GradientBytes - OptimizerStateBytes - SavedActivationBytes - BatchBytes;
    }

    public string ModelName { get; }
    public int Batch { get; }
    /// <summary>Leading layers (no backward) that run forward <see cref="StreamChunk"/> samples at a time; 0 when none.</summary>
    public int StreamedPrefix { get; }
    public int StreamChunk { get; }
    /// <summary>The streamed prefix's last layer (its output holds the whole batch), or null.</summary>
    public string? StreamedThrough { get; }
    public OptimizerOptions? Optimizer { get; }
    public string TrainableSet { get; }
    public IReadOnlyList<PlannedBuffer> Buffers { get; }

    public long FrozenWeightBytes { get; }
    public long TrainableWeightBytes { get; }
    public long GradientBytes { get; }
    public long OptimizerStateBytes { get; }
    public long SavedActivationBytes { get; }
    /// <summary>The input batch and its labels, held for the whole step (the first layer's weight gradient reads the input).</summary>
    public long BatchBytes { get; }
    /// <summary>Activations in flight, activation gradients, labels and layer workspace at the arena's peak (and any gap the placement leaves).</summary>
    public long TransientBytes { get; }
    public long ArenaFloats { get; }
    public long ArenaBytes => ArenaFloats * sizeof(float);
    /// <summary>Peak training memory: the model's weights plus the arena.</summary>
    public long PeakBytes => FrozenWeightBytes + TrainableWeightBytes + ArenaBytes;

    public long ForwardFlopsPerSample { get; }
    /// <summary>Backward FLOPs per sample for this trainable set: shrinks as fewer layers and channels train.</summary>
    public long BackwardFlopsPerSample { get; }
    public long TrainingFlopsPerSample => ForwardFlopsPerSample + BackwardFlopsPerSample;

    internal LayerNeeds[] Needs { get; }
    internal NodeBuffers[] Layout { get; }
    internal int InputBuffer { get; }
    internal int LabelsBuffer { get; }
    internal int[] ParameterGradientBuffers { get; }
    internal int[] OptimizerStateBuffers { get; }

    private long SumBytes(BufferKind kind) => Buffers.Where(b => b.Kind == kind).Sum(b => b.Bytes);

    /// <summary>The categories of the peak, largest first.</summary>
    public IReadOnlyList<(string Category, long Bytes)> Categories =>
        new (string, long)[]
        {
            ("frozen weights", FrozenWeightBytes), ("trainable weights", TrainableWeightBytes), ("gradients", GradientBytes),
            ("optimizer state", OptimizerStateBytes), ("input batch and labels", BatchBytes), ("activations saved for backward", SavedActivationBytes),
            ("transient activations and workspace", TransientBytes),
        }.OrderByDescending(c => c.Item2).ToArray();

    /// <summary>Throws <see cref="MemoryBudgetExceededException"/> when the peak exceeds the budget.</summary>
    public void EnsureFits(long budgetBytes)
    {
        if (PeakBytes <= budgetBytes) return;
        var (category, bytes) = Categories[0];
        var biggest = Buffers.OrderByDescending(b => b.Floats).FirstOrDefault();
        throw new MemoryBudgetExceededException(budgetBytes, PeakBytes, category, bytes, biggest?.Name, biggest?.Bytes ?? 0, this);
    }

    public static string FormatBytes(long bytes) => Ftte.Core.ByteSize.Format(bytes);

    public string ToText()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Memory plan: model {ModelName}, batch {Batch}, optimizer {Optimizer?.Name ?? "none (inference)"}, trainable {TrainableSet}\n");
        void Line(string label, long bytes) => sb.Append(CultureInfo.InvariantCulture, $"  {label,-38} {bytes,12:N0} B  {FormatBytes(bytes),11}\n");
        Line("frozen weights", FrozenWeightBytes);
        Line("trainable weights", TrainableWeightBytes);
        Line("gradients", GradientBytes);
        Line("optimizer state", OptimizerStateBytes);
        Line("input batch and labels", BatchBytes);
        Line("activations saved for backward", SavedActivationBytes);
        Line("transient activations and workspace", TransientBytes);
        Line("peak", PeakBytes);
        if (StreamedPrefix > 0)
            sb.Append(CultureInfo.InvariantCulture, $"  frozen prefix through {StreamedThrough} ({StreamedPrefix} layers) runs forward {StreamChunk} sample(s) at a time\n");
        sb.Append(CultureInfo.InvariantCulture, $"  FLOPs per sample: forward {ForwardFlopsPerSample:N0}, backward {BackwardFlopsPerSample:N0}, training {TrainingFlopsPerSample:N0}\n");
        return sb.ToString();
    }

    public string ToJson(bool includeBuffers = false)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", ModelName);
            w.WriteNumber("batch", Batch);
            w.WriteString("optimizer", Optimizer?.Name ?? "none");
            w.WriteString("trainable", TrainableSet);
            w.WriteNumber("frozen_weight_bytes", FrozenWeightBytes);
            w.WriteNumber("trainable_weight_bytes", TrainableWeightBytes);
            w.WriteNumber("gradient_bytes", GradientBytes);
            w.WriteNumber("optimizer_state_bytes", OptimizerStateBytes);
            w.WriteNumber("batch_bytes", BatchBytes);
            w.WriteNumber("saved_activation_bytes", SavedActivationBytes);
            w.WriteNumber("transient_bytes", TransientBytes);
            w.WriteNumber("peak_bytes", PeakBytes);
            w.WriteNumber("streamed_prefix_layers", StreamedPrefix);
            w.WriteNumber("stream_chunk", StreamChunk);
            w.WriteNumber("forward_flops_per_sample", ForwardFlopsPerSample);
            w.WriteNumber("backward_flops_per_sample", BackwardFlopsPerSample);
            if (includeBuffers)
            {
                w.WriteStartArray("buffers");
                foreach (var b in Buffers)
                {
                    w.WriteStartObject();
                    w.WriteString("name", b.Name);
                    w.WriteString("kind", b.Kind.ToString());
                    w.WriteNumber("bytes", b.Bytes);
                    w.WriteNumber("offset_bytes", b.Offset * sizeof(float));
                    w.WriteNumber("first_step", b.FirstStep);
                    w.WriteNumber("last_step", b.LastStep);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}

/// <summary>A configuration's planned peak exceeds the device's memory budget.</summary>
public sealed class MemoryBudgetExceededException : Exception
{
    internal MemoryBudgetExceededException(long budget, long need, string category, long categoryBytes, string? buffer, long bufferBytes, MemoryPlan plan)
        : base($"Training model '{plan.ModelName}' (batch {plan.Batch}, trainable {plan.TrainableSet}) needs {MemoryPlan.FormatBytes(need)} ({need:N0} B) " +
               $"but the memory budget is {MemoryPlan.FormatBytes(budget)} ({budget:N0} B). Largest consumer: {category} ({MemoryPlan.FormatBytes(categoryBytes)})" +
               (buffer is null ? "" : $"; largest single buffer: {buffer} ({MemoryPlan.FormatBytes(bufferBytes)})") +
               ". Reduce the batch size, train fewer layers or channels, or use an optimizer with less state.")
    {
        BudgetBytes = budget;
        NeededBytes = need;
        LargestConsumer = category;
        Plan = plan;
    }

    public long BudgetBytes { get; }
    public long NeededBytes { get; }
    public string LargestConsumer { get; }
    public MemoryPlan Plan { get; }
}
