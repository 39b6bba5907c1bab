namespace Ftte.Engine.Training;

/// <summary>Softmax cross-entropy over logits (B, C) with integer labels, mean over the batch.</summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>
    /// Returns the mean loss and the number of correct arg-max predictions; when <paramref name="dLogits"/>
    /// is non-empty writes ∂L/∂z = (softmax(z) − onehot(y)) / B into it.
    /// Log-sum-exp with the row maximum subtracted, in double for the sum, for stability.
    /// </summary>
    public static (double Loss, int Correct) Compute(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int batch, int classes, Span<float> dLogits)
    {
        double total = 0;
        int correct = 0;
        float invB = 1f / batch;
        for (int i = 0; i < batch; i++)
        {
            var z = logits.Slice(i * classes, classes);
            int label = labels[i];
            if ((uint)label >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), label, $"Label {label} at batch row {i} is outside [0, {classes - 1}].");
            float max = z[0];
            int argMax = 0;
            for (int c = 1; c < classes; c++)
                if (z[c] > max) { max = z[c]; argMax = c; }
            if (argMax == label) correct++;
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(z[c] - max);
            double logSum = Math.Log(sum);
            total += logSum - (z[label] - max);
            if (dLogits.IsEmpty) continue;
            var d = dLogits.Slice(i * classes, classes);
            for (int c = 0; c < classes; c++)
                d[c] = (float)(Math.Exp(z[c] - max - logSum)) * invB;
            d[label] -= invB;
        }
        return (total / batch, correct);
    }
}
