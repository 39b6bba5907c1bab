namespace Ftte.Engine.Planning;

/// <summary>What a buffer of the training arena holds.</summary>
public enum BufferKind
{
    /// <summary>The input batch.</summary>
    Input,
    /// <summary>The batch's labels (4-byte integers).</summary>
    Labels,
    /// <summary>A layer's output.</summary>
    Activation,
    /// <summary>Extra state a layer keeps from forward to backward (pooling indices, normalised values).</summary>
    Saved,
    /// <summary>Scratch for one layer call (im2col columns, GEMM packing, gathers).</summary>
    Workspace,
    /// <summary>Gradient with respect to a layer's output.</summary>
    ActivationGradient,
    /// <summary>Gradient of the trained channels of a parameter.</summary>
    ParameterGradient,
    /// <summary>Optimizer state of the trained channels of a parameter.</summary>
    OptimizerState,
}

/// <summary>
/// One buffer of the arena: its size, its offset, and the steps of the training iteration during
/// which it is alive (forward of node i is step i, the loss is step n, backward of node i is step 2n−i,
/// the optimizer step 2n+1). Buffers whose lifetimes do not overlap may share bytes.
/// </summary>
public sealed record PlannedBuffer(string Name, BufferKind Kind, long Floats, long Offset, int FirstStep, int LastStep)
{
    public long Bytes => Floats * sizeof(float);
    public bool Overlaps(PlannedBuffer other) => FirstStep <= other.LastStep && other.FirstStep <= LastStep;
}
