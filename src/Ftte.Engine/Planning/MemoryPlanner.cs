using Ftte.Engine.Layers;
using Ftte.Engine.Training;

namespace Ftte.Engine.Planning;

/// <summary>
/// Computes, before the first step, every buffer a training (or inference) iteration uses, when each
/// is alive, and where it sits in one arena (llm.c's "size everything first, allocate once"). The
/// training session executes this very plan — it asks the arena for these buffers at these offsets —
/// so planned and used bytes cannot disagree.
///
/// Placement is greedy by size over lifetimes (as TFLite's arena planner): largest buffer first, at the
/// lowest offset not overlapping a placed buffer that is alive at the same time. Deterministic.
/// </summary>
public static class MemoryPlanner
{
    /// <summary>Plans a training iteration: forward, softmax cross-entropy, backward of what trains, optimizer step.</summary>
    /// <param name="streamChunk">Samples per chunk of the streamed frozen prefix (see <see cref="DefaultStreamChunk"/>); the batch
    /// or more streams nothing.</param>
    public static MemoryPlan PlanTraining(Model model, TrainableSet trainable, int batch, OptimizerOptions optimizer, int streamChunk = DefaultStreamChunk)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainable);
        ArgumentNullException.ThrowIfNull(optimizer);
        optimizer.Validate();
        return Plan(model, trainable.Resolve(model), batch, optimizer, training: true, trainable.ToString(), streamChunk);
    }

    /// <summary>Plans forward-only evaluation (logits and loss) at a batch size.</summary>
    public static MemoryPlan PlanInference(Model model, int batch) =>
        Plan(model, new ChannelSelection?[model.Parameters.Count], batch, null, training: false, "none", batch);

    private static MemoryPlan Plan(Model model, ChannelSelection?[] selections, int batch, OptimizerOptions? optimizer, bool training, string trainableText, int streamChunk)
    {
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch size must be at least 1.");
        if (streamChunk <= 0) throw new ArgumentOutOfRangeException(nameof(streamChunk), streamChunk, "The stream chunk must be at least 1 sample.");
        var layers = model.Layers;
        int n = layers.Count;
        int optimizerStep = 2 * n + 1;
        int BackwardStep(int i) => 2 * n - i;

        // Which nodes need the gradient of their output: a node with a trained parameter, or fed by one.
        var requiresGrad = new bool[n];
        var needs = new LayerNeeds[n];
        var layerSelections = new ChannelSelection?[n][];
        for (int i = 0; i < n; i++)
        {
            var ps = layers[i].Parameters;
            layerSelections[i] = new ChannelSelection?[ps.Count];
            bool trains = false;
            for (int k = 0; k < ps.Count; k++)
            {
                layerSelections[i][k] = selections[model.IndexOf(ps[k])];
                trains |= layerSelections[i][k] is not null;
            }
            int mask = 0;
            var inputs = model.InputsOf(i);
            for (int k = 0; k < inputs.Length; k++)
                if (inputs[k] >= 0 && requiresGrad[inputs[k]]) mask |= 1 << k;
            requiresGrad[i] = training && (trains || mask != 0);
            needs[i] = new LayerNeeds(training, requiresGrad[i], mask, layerSelections[i]);
        }

        // The frozen prefix (nodes 0..prefix-1: no backward, and only node prefix-1 read beyond it) runs forward a chunk of
        // samples at a time: its activations and workspace are sized for the chunk, and only its last output, the boundary,
        // holds the whole batch. Training keeps nothing of these layers, so this changes no result — every layer of the
        // engine computes each sample on its own (GroupNorm, never BatchNorm) — and it is the frozen part's whole cost at
        // the peak: the inference side of Lin et al. 2022's "frozen layers still run forward", at per-sample memory.
        int prefix = training ? StreamedPrefix(model, needs) : 0;
        int chunk = prefix > 0 ? Math.Min(streamChunk, batch) : batch;
        if (chunk == batch) prefix = 0;
        int BatchOf(int i) => i < prefix - 1 ? chunk : batch;

        var memory = new LayerMemory[n];
        for (int i = 0; i < n; i++) memory[i] = layers[i].Memory(needs[i], i < prefix ? chunk : batch);

        var buffers = new List<(string Name, BufferKind Kind, long Floats, int First, int Last)>();
        int Add(string name, BufferKind kind, long floats, int first, int last)
        {
            if (floats <= 0) return -1;
            buffers.Add((name, kind, floats, first, last));
            return buffers.Count - 1;
        }

        // Last step at which node j's output (j = -1: the model input) is read.
        int LastUse(int j)
        {
            int last = j < 0 ? 0 : j;
            if (j == n - 1) last = Math.Max(last, n);                 // the loss reads the logits
            if (j >= 0 && memory[j].KeepOutput && needs[j].Backward) last = Math.Max(last, BackwardStep(j));
            for (int c = 0; c < n; c++)
            {
                if (model.InputsOf(c).IndexOf(j) < 0) continue;
                last = Math.Max(last, c);
                if (memory[c].KeepInputs && needs[c].Backward) last = Math.Max(last, BackwardStep(c));
            }
            return last;
        }

        var layout = new NodeBuffers[n];
        // The batch is the caller's: it stays intact for the whole iteration (a caller may step twice on one fill).
        int input = Add("input", BufferKind.Input, (long)batch * model.InputShape.Size, 0, optimizerStep);
        int labels = Add("labels", BufferKind.Labels, batch, 0, optimizerStep);
        // In place (Layer.InPlace): node i's output takes its input's buffer when nothing reads the input after step i; its
        // input's gradient takes the buffer of i's output gradient when i writes it first (i's dY is dead once i's backward
        // has read it). aliasGradientOf[j] = i records the second until i's gradient buffer exists.
        var aliasGradientOf = new int[n];
        Array.Fill(aliasGradientOf, -1);
        int Extend(int buffer, int last, string name)
        {
            var b = buffers[buffer];
            buffers[buffer] = b with { Name = $"{b.Name} = {name}", Last = Math.Max(b.Last, last) };
            return buffer;
        }
        // Node i's gradient buffer is known: hand it on to the nodes waiting for it (and to theirs, along a chain of in-place layers).
        void ResolveGradient(int i, int buffer)
        {
            layout[i].Gradient = buffer;
            for (int j = 0; j < i; j++)
                if (aliasGradientOf[j] == i) ResolveGradient(j, Extend(buffer, BackwardStep(j), $"{layers[j].Name}.grad"));
        }
        for (int i = 0; i < n; i++)
        {
            string name = layers[i].Name;
            var inputsOfI = model.InputsOf(i);
            int source = inputsOfI.Length == 1 ? inputsOfI[0] : -1;
            long outputFloats = (long)BatchOf(i) * layers[i].OutputShape.Size;
            bool inPlace = layers[i].InPlace && source >= 0 && layout[source].Output >= 0 && LastUse(source) == i
                           && buffers[layout[source].Output].Floats == outputFloats;
            layout[i].Output = inPlace
                ? Extend(layout[source].Output, LastUse(i), $"{name}.out")
                // The boundary is written chunk by chunk from the first step on.
                : Add($"{name}.out", BufferKind.Activation, outputFloats, i == prefix - 1 ? 0 : i, LastUse(i));
            layout[i].Saved = training && needs[i].Backward ? Add($"{name}.saved", BufferKind.Saved, memory[i].SavedFloats, i, BackwardStep(i)) : -1;
            layout[i].ForwardWorkspace = Add($"{name}.fwd-workspace", BufferKind.Workspace, memory[i].ForwardWorkspaceFloats, i, i);
            layout[i].Gradient = -1;
            layout[i].BackwardWorkspace = -1;
            layout[i].FirstGradientWriter = -1;
            if (!needs[i].Backward) continue;
            layout[i].BackwardWorkspace = Add($"{name}.bwd-workspace", BufferKind.Workspace, memory[i].BackwardWorkspaceFloats, BackwardStep(i), BackwardStep(i));
            // dY_i is first written by the loss (last node) or by the latest consumer's backward.
            int writer = i == n - 1 ? n : -1;
            for (int c = n - 1; c > i && writer < 0; c--)
                if (model.InputsOf(c).IndexOf(i) >= 0) writer = c;
            layout[i].FirstGradientWriter = writer;
            int firstStep = writer == n ? n : BackwardStep(writer);
            bool writerInPlace = writer < n && layers[writer].InPlace && layers[writer].CanOverwriteInputGradient
                                 && model.InputsOf(writer).Length == 1 && needs[writer].InputGrad();
            if (writerInPlace) aliasGradientOf[i] = writer;   // set when the writer's gradient buffer is
            else ResolveGradient(i, Add($"{name}.grad", BufferKind.ActivationGradient, (long)batch * layers[i].OutputShape.Size, firstStep, BackwardStep(i)));
        }

        var parameterGradients = new int[model.Parameters.Count];
        var optimizerStates = new int[model.Parameters.Count];
        int stateFloats = optimizer?.StateFloatsPerElement ?? 0;
        for (int p = 0; p < parameterGradients.Length; p++)
        {
            parameterGradients[p] = optimizerStates[p] = -1;
            if (selections[p] is not { } s) continue;
            string name = model.Parameters[p].Name;
            parameterGradients[p] = Add($"{name}.grad", BufferKind.ParameterGradient, s.Elements, 0, optimizerStep);
            optimizerStates[p] = Add($"{name}.state", BufferKind.OptimizerState, (long)s.Elements * stateFloats, 0, optimizerStep);
        }

        long[] offsets = Place(buffers);
        var planned = new PlannedBuffer[buffers.Count];
        for (int b = 0; b < planned.Length; b++)
        {
            var x = buffers[b];
            planned[b] = new PlannedBuffer(x.Name, x.Kind, x.Floats, offsets[b], x.First, x.Last);
        }

        long forwardFlops = 0, backwardFlops = 0;
        for (int i = 0; i < n; i++)
        {
            forwardFlops += layers[i].ForwardFlops;
            if (needs[i].Backward) backwardFlops += layers[i].BackwardFlops(needs[i]);
        }

        long trainableElements = selections.Sum(s => s is null ? 0L : s.Elements);
        return new MemoryPlan(
            model, batch, optimizer, trainableText, planned, needs, layout, input, labels, parameterGradients, optimizerStates,
            trainableElements, forwardFlops, backwardFlops, lossStep: n, prefix, chunk);
    }

    /// <summary>Samples per chunk of a streamed frozen prefix: one, the least memory (the prefix's convolutions stay wide GEMMs:
    /// their N is the output's spatial size).</summary>
    public const int DefaultStreamChunk = 1;

    /// <summary>
    /// The longest run of leading nodes with no backward whose outputs nothing after it reads except the last one's (so the
    /// rest can be chunk-sized); never the logits, which the loss reads whole.
    /// </summary>
    private static int StreamedPrefix(Model model, LayerNeeds[] needs)
    {
        int n = model.Layers.Count, prefix = 0;
        while (prefix < n - 1 && !needs[prefix].Backward) prefix++;
        for (; prefix > 0; prefix--)
        {
            bool cut = true;
            for (int c = prefix; c < n && cut; c++)
                foreach (int j in model.InputsOf(c))
                    if (j >= 0 && j < prefix - 1) cut = false;
            if (cut) break;
        }
        return prefix;
    }

    /// <summary>Greedy-by-size placement over lifetimes; returns each buffer's offset in floats.</summary>
    private static long[] Place(List<(string Name, BufferKind Kind, long Floats, int First, int Last)> buffers)
    {
        var order = Enumerable.Range(0, buffers.Count)
            .OrderByDescending(i => buffers[i].Floats).ThenBy(i => buffers[i].First).ThenBy(i => i).ToArray();
        var offsets = new long[buffers.Count];
        var placed = new List<int>();
        var conflicts = new List<(long Start, long End)>();
        foreach (int b in order)
        {
            var me = buffers[b];
            conflicts.Clear();
            foreach (int q in placed)
                if (buffers[q].First <= me.Last && me.First <= buffers[q].Last)
                    conflicts.Add((offsets[q], offsets[q] + buffers[q].Floats));
            conflicts.Sort((x, y) => x.Start.CompareTo(y.Start));
            long candidate = 0;
            foreach (var (start, end) in conflicts)
            {
                if (candidate + me.Floats <= start) break;
                candidate = Math.Max(candidate, end);
            }
            offsets[b] = candidate;
            placed.Add(b);
        }
        return offsets;
    }
}

/// <summary>Indices (into the plan's buffers) of one node's buffers; -1 when absent.</summary>
internal struct NodeBuffers
{
    public int Output;
    public int Saved;
    public int ForwardWorkspace;
    public int BackwardWorkspace;
    public int Gradient;
    /// <summary>Node whose backward first writes this node's output gradient (n = the loss); it clears the buffer first.</summary>
    public int FirstGradientWriter;
}
