namespace Ftte.Data.Internal;

/// <summary>
/// Normalises train and test features in place with statistics of the train split only, so that no
/// information from the test split leaks into training. See <see cref="Normalization"/> for the rules.
/// </summary>
internal static class Normalizer
{
    /// <summary>Images: one scalar scale, then one scalar mean/std over all train values.</summary>
    public static void Images(float[] train, float[] test, float maxValue, Normalization mode)
    {
        if (mode == Normalization.None) return;
        float scale = 1f / maxValue;
        Scale(train, scale, 0f);
        Scale(test, scale, 0f);
        if (mode != Normalization.Standardize) return;

        double sum = 0, sumSquares = 0;
        foreach (float v in train) { sum += v; sumSquares += (double)v * v; }
        double mean = sum / Math.Max(train.Length, 1);
        double std = Math.Sqrt(Math.Max(sumSquares / Math.Max(train.Length, 1) - mean * mean, 0));
        float inv = std > 1e-12 ? (float)(1 / std) : 1f;
        Scale(train, inv, (float)-mean * inv);
        Scale(test, inv, (float)-mean * inv);
    }

    /// <summary>Tabular rows of <paramref name="width"/> features: per-feature statistics.</summary>
    public static void Columns(float[] train, float[] test, int width, Normalization mode)
    {
        if (mode == Normalization.None) return;
        int rows = train.Length / width;
        for (int f = 0; f < width; f++)
        {
            double a, b; // value ← (value − a) · b
            if (mode == Normalization.Standardize)
            {
                double sum = 0, sumSquares = 0;
                for (int r = 0; r < rows; r++) { double v = train[r * width + f]; sum += v; sumSquares += v * v; }
                double mean = sum / Math.Max(rows, 1);
                double std = Math.Sqrt(Math.Max(sumSquares / Math.Max(rows, 1) - mean * mean, 0));
                (a, b) = (mean, std > 1e-12 ? 1 / std : 1); // a constant feature becomes 0, not NaN
            }
            else
            {
                double min = double.MaxValue, max = double.MinValue;
                for (int r = 0; r < rows; r++) { double v = train[r * width + f]; min = Math.Min(min, v); max = Math.Max(max, v); }
                (a, b) = (rows == 0 ? 0 : min, max - min > 1e-12 ? 1 / (max - min) : 1);
            }
            Apply(train, width, f, a, b);
            Apply(test, width, f, a, b);
        }
    }

    private static void Apply(float[] values, int width, int feature, double a, double b)
    {
        for (int i = feature; i < values.Length; i += width) values[i] = (float)((values[i] - a) * b);
    }

    private static void Scale(float[] values, float multiply, float add)
    {
        for (int i = 0; i < values.Length; i++) values[i] = values[i] * multiply + add;
    }
}
