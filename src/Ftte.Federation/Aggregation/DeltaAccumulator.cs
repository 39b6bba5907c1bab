using Ftte.Engine;

namespace Ftte.Federation.Aggregation;

/// <summary>
/// Coordinate-wise weighted mean of client deltas: x_j ← x_j + η · Σ_k w_k Δ_kj / Σ_k n_k over the updates k
/// that trained coordinate j. With every update covering the whole model this is FedAvg's
/// Σ (n_k/n) Δ_k (w_k = n_k = samples) or FedBuff's Σ s(τ_k) Δ_k / K (w_k = s(τ_k), n_k = 1); with partial or
/// nested trainable sets each coordinate is averaged over the updates that actually trained it, and
/// coordinates nobody trained stay as they are.
/// </summary>
public sealed class DeltaAccumulator
{
    private readonly double[] _sum;
    private readonly double[] _norm;

    public DeltaAccumulator(int parameters)
    {
        _sum = new double[parameters];
        _norm = new double[parameters];
    }

    /// <summary>Updates added since the last <see cref="Clear"/>.</summary>
    public int Count { get; private set; }
    /// <summary>Sum of the weights added.</summary>
    public double TotalWeight { get; private set; }

    /// <param name="weight">w_k, multiplies the delta.</param>
    /// <param name="normaliser">n_k, added to the denominator of every coordinate the update trained.</param>
    public void Add(ClientUpdate update, double weight, double normaliser)
    {
        if (update.Delta.Length != _sum.Length)
            throw new ArgumentException($"Update of task {update.Task.TaskId} has {update.Delta.Length} values; the model has {_sum.Length}.");
        var delta = update.Delta;
        foreach (var r in update.Ranges)
        {
            for (int j = r.Offset; j < r.End; j++)
            {
                _sum[j] += weight * delta[j];
                _norm[j] += normaliser;
            }
        }
        Count++;
        TotalWeight += weight;
    }

    /// <summary>x ← x + η · mean; returns the number of coordinates changed.</summary>
    public int ApplyTo(Span<float> weights, double serverLearningRate)
    {
        if (weights.Length != _sum.Length) throw new ArgumentException("Model size differs from the accumulator's.");
        int touched = 0;
        for (int j = 0; j < weights.Length; j++)
        {
            if (_norm[j] == 0) continue;
            weights[j] = (float)(weights[j] + serverLearningRate * _sum[j] / _norm[j]);
            touched++;
        }
        return touched;
    }

    public void Clear()
    {
        Array.Clear(_sum);
        Array.Clear(_norm);
        Count = 0;
        TotalWeight = 0;
    }
}
