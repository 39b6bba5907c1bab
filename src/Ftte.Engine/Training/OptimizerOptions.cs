namespace Ftte.Engine.Training;

/// <summary>Optimizer settings; the kind decides how many floats of state each trained element carries.</summary>
public abstract record OptimizerOptions
{
    /// <summary>Learning rate. Default 0.01.</summary>
    public float LearningRate { get; init; } = 0.01f;
    /// <summary>L2 penalty added to the gradient (PyTorch's weight_decay). Default 0.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Floats of optimizer state per trained parameter element.</summary>
    public abstract int StateFloatsPerElement { get; }
    public abstract string Name { get; }

    internal void Validate()
    {
        if (!(LearningRate > 0) || !float.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, $"{Name}: the learning rate must be a positive finite number.");
        if (!(WeightDecay >= 0) || !float.IsFinite(WeightDecay))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, $"{Name}: weight decay must be zero or positive.");
        ValidateMore();
    }

    protected virtual void ValidateMore() { }
}

/// <summary>SGD with optional momentum (PyTorch semantics: v ← μv + g; w ← w − lr·v). Momentum 0 keeps no state.</summary>
public sealed record SgdOptions : OptimizerOptions
{
    /// <summary>Momentum μ. Default 0 (plain SGD, no state).</summary>
    public float Momentum { get; init; }
    public override int StateFloatsPerElement => Momentum > 0 ? 1 : 0;
    public override string Name => "sgd";

    protected override void ValidateMore()
    {
        if (!(Momentum >= 0 && Momentum < 1))
            throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "SGD momentum must be in [0, 1).");
    }
}

/// <summary>Adam (Kingma &amp; Ba 2015) with bias correction; two floats of state per element.</summary>
public sealed record AdamOptions : OptimizerOptions
{
    public AdamOptions() { LearningRate = 0.001f; }
    /// <summary>β₁. Default 0.9.</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>β₂. Default 0.999.</summary>
    public float Beta2 { get; init; } = 0.999f;
    /// <summary>ε. Default 1e-8.</summary>
    public float Epsilon { get; init; } = 1e-8f;
    public override int StateFloatsPerElement => 2;
    public override string Name => "adam";

    protected override void ValidateMore()
    {
        if (!(Beta1 >= 0 && Beta1 < 1) || !(Beta2 >= 0 && Beta2 < 1))
            throw new ArgumentOutOfRangeException(nameof(Beta1), "Adam betas must be in [0, 1).");
        if (!(Epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, "Adam epsilon must be positive.");
    }
}
