using System.Diagnostics;
using Ftte.Engine.Planning;

namespace Ftte.Engine.Training;

/// <summary>Loss and correct predictions of one step or evaluation.</summary>
public readonly record struct StepResult(double Loss, int Correct, int Count)
{
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
}

/// <summary>
/// Trains a model's trainable set with one arena laid out by <see cref="MemoryPlanner"/>.
/// Fill <see cref="Input"/> and <see cref="Labels"/> for up to <see cref="BatchSize"/> samples and call
/// <see cref="Step"/>: forward, softmax cross-entropy, backward down to the lowest layer that needs a
/// gradient, optimizer update of the trained channels only. After the first step a step allocates no
/// managed memory. Single-threaded; frozen parameters are never written.
/// </summary>
public sealed class TrainingSession
{
    private readonly Model _model;
    private readonly PlanRunner _runner;
    private readonly ChannelSelection?[] _selections;
    private int _step;

    /// <param name="memoryBudgetBytes">When set, a plan whose peak exceeds it is refused with <see cref="MemoryBudgetExceededException"/>.</param>
    /// <param name="streamChunk">Samples per chunk of the streamed frozen prefix (<see cref="MemoryPlanner.DefaultStreamChunk"/>).</param>
    public TrainingSession(Model model, TrainableSet trainable, int batchSize, OptimizerOptions optimizer, long? memoryBudgetBytes = null,
        int streamChunk = MemoryPlanner.DefaultStreamChunk)
    {
        _model = model;
        Optimizer = optimizer;
        Plan = MemoryPlanner.PlanTraining(model, trainable, batchSize, optimizer, streamChunk);
        if (memoryBudgetBytes is { } budget) Plan.EnsureFits(budget);
        _selections = trainable.Resolve(model);
        _runner = new PlanRunner(model, Plan);
        LearningRate = optimizer.LearningRate;
    }

    public MemoryPlan Plan { get; }
    public Model Model => _model;
    public OptimizerOptions Optimizer { get; }
    public int BatchSize => Plan.Batch;
    /// <summary>The learning rate used by the next step (schedules may change it between steps).</summary>
    public float LearningRate { get; set; }
    /// <summary>Steps taken so far.</summary>
    public int Steps => _step;
    /// <summary>Highest arena byte used so far; after a full-batch step it equals <see cref="MemoryPlan.ArenaBytes"/>.</summary>
    public long ArenaHighWaterBytes => _runner.Arena.HighWaterBytes;

    /// <summary>Input batch buffer, BatchSize × input size floats (inside the arena).</summary>
    public Span<float> Input => _runner.Input;
    /// <summary>Label buffer, BatchSize ints (inside the arena).</summary>
    public Span<int> Labels => _runner.Labels;

    /// <summary>One training step on the first <paramref name="count"/> samples of <see cref="Input"/>/<see cref="Labels"/>.</summary>
    public StepResult Step(int count)
    {
        if (count <= 0 || count > BatchSize)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A step takes 1..{BatchSize} samples (the planned batch size).");
        var (loss, correct) = _runner.ForwardAndLoss(count);
        _runner.Backward(count);
        FinishStep();
        return new StepResult(loss, correct, count);
    }

    /// <summary>
    /// Forward and backward on the first <paramref name="count"/> samples without updating anything: the mean-loss gradients of
    /// the trained parameters stay readable with <see cref="Gradient"/> until the next step (gradient statistics, e.g. FTTE's
    /// first-order contribution analysis).
    /// </summary>
    public StepResult Backpropagate(int count)
    {
        if (count <= 0 || count > BatchSize)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A pass takes 1..{BatchSize} samples (the planned batch size).");
        var (loss, correct) = _runner.ForwardAndLoss(count);
        _runner.Backward(count);
        return new StepResult(loss, correct, count);
    }

    /// <summary>∂L/∂θ of parameter <paramref name="parameter"/> (model order) from the last pass: its trained channels, in selection
    /// order, each ChannelSize values; empty when the parameter is frozen.</summary>
    public ReadOnlySpan<float> Gradient(int parameter) => _selections[parameter] is null ? [] : _runner.ParameterGradient(parameter);

    /// <summary>
    /// <see cref="Step(int)"/> with a timestamp after each call, for the benchmark's per-layer profile: adds the
    /// <see cref="Stopwatch"/> ticks of layer i's forward to <c>ticks[i]</c>, of its backward to
    /// <c>ticks[L + i]</c>, of the loss to <c>ticks[2L]</c> and of the optimizer to <c>ticks[2L + 1]</c> (L layers). A streamed
    /// frozen prefix runs chunk by chunk as in a step, each layer's chunks timed into its entry.
    /// </summary>
    internal StepResult StepTimed(int count, Span<long> ticks)
    {
        if (count <= 0 || count > BatchSize)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"A step takes 1..{BatchSize} samples (the planned batch size).");
        int layers = _model.Layers.Count;
        if (ticks.Length != 2 * layers + 2)
            throw new ArgumentException($"The profile of {layers} layers takes {2 * layers + 2} entries, not {ticks.Length}.", nameof(ticks));
        _runner.ForwardStreamedPrefix(count, ticks[..Plan.StreamedPrefix]);
        long t = Stopwatch.GetTimestamp(), u;
        for (int i = Plan.StreamedPrefix; i < layers; i++)
        {
            _runner.ForwardLayer(i, count);
            u = Stopwatch.GetTimestamp(); ticks[i] += u - t; t = u;
        }
        var (loss, correct) = _runner.Loss(count);
        u = Stopwatch.GetTimestamp(); ticks[2 * layers] += u - t; t = u;
        for (int i = layers - 1; i >= 0; i--)
        {
            _runner.BackwardLayer(i, count);
            u = Stopwatch.GetTimestamp(); ticks[layers + i] += u - t; t = u;
        }
        FinishStep();
        ticks[2 * layers + 1] += Stopwatch.GetTimestamp() - t;
        return new StepResult(loss, correct, count);
    }

    /// <summary>The end of a step, after backward: count it and update the trained parameters.</summary>
    private void FinishStep()
    {
        _step++;
        ApplyOptimizer();
    }

    /// <summary>
    /// Starts a fresh optimisation on the same plan: optimizer state (momentum, Adam moments) zeroed and
    /// the step count back to 0, so one session can train task after task as if newly created.
    /// </summary>
    public void ResetOptimizer()
    {
        for (int p = 0; p < _selections.Length; p++)
            if (_selections[p] is not null) _runner.OptimizerState(p).Clear();
        _step = 0;
        LearningRate = Optimizer.LearningRate;
    }

    /// <summary>Copies a batch in and trains on it.</summary>
    public StepResult Step(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels)
    {
        int count = labels.Length;
        int size = _model.InputShape.Size;
        if (count == 0 || inputs.Length != count * size)
            throw new ArgumentException($"Expected {count} samples of {size} floats ({count * size}), got {inputs.Length} floats for {count} labels.");
        inputs.CopyTo(Input);
        labels.CopyTo(Labels);
        return Step(count);
    }

    private void ApplyOptimizer()
    {
        var parameters = _model.Parameters;
        for (int p = 0; p < parameters.Count; p++)
        {
            if (_selections[p] is not { } selection) continue;
            var grad = _runner.ParameterGradient(p);
            var state = _runner.OptimizerState(p);
            var param = parameters[p];
            int row = param.ChannelSize;
            if (selection.IsContiguous)
            {
                UpdateRun(param.Data.Slice(selection.First * row, selection.Elements), grad, state);
                continue;
            }
            var channels = selection.Channels;
            int stateWidth = Optimizer.StateFloatsPerElement;
            for (int j = 0; j < channels.Length; j++)
            {
                var s = state.IsEmpty ? state : state.Slice(j * row * stateWidth, row * stateWidth);
                UpdateRun(param.Channel(channels[j]), grad.Slice(j * row, row), s);
            }
        }
    }

    /// <summary>Updates one contiguous run; state holds StateFloatsPerElement consecutive runs of the same length.</summary>
    private void UpdateRun(Span<float> w, ReadOnlySpan<float> g, Span<float> state)
    {
        switch (Optimizer)
        {
            case SgdOptions sgd:
                OptimizerKernels.Sgd(w, g, state, LearningRate, sgd.Momentum, sgd.WeightDecay);
                break;
            case AdamOptions adam:
                OptimizerKernels.Adam(w, g, state[..w.Length], state.Slice(w.Length, w.Length), LearningRate,
                    adam.Beta1, adam.Beta2, adam.Epsilon, adam.WeightDecay, _step);
                break;
            default:
                throw new NotSupportedException($"Optimizer {Optimizer.Name} has no update rule.");
        }
    }
}
