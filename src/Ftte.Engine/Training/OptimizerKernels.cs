using System.Numerics;

namespace Ftte.Engine.Training;

/// <summary>Fused optimizer updates over a contiguous run of weights, gradients and state (one pass, no temporaries).</summary>
internal static class OptimizerKernels
{
    /// <summary>SGD, PyTorch semantics: g ← g + λw; v ← μv + g; w ← w − lr·v (v unused when μ = 0).</summary>
    public static void Sgd(Span<float> w, ReadOnlySpan<float> g, Span<float> v, float lr, float momentum, float decay)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            var lrV = new Vector<float>(lr);
            var muV = new Vector<float>(momentum);
            var decayV = new Vector<float>(decay);
            for (; i <= w.Length - width; i += width)
            {
                var wv = new Vector<float>(w[i..]);
                var gv = new Vector<float>(g[i..]) + decayV * wv;
                if (momentum > 0)
                {
                    gv = muV * new Vector<float>(v[i..]) + gv;
                    gv.CopyTo(v[i..]);
                }
                (wv - lrV * gv).CopyTo(w[i..]);
            }
        }
        for (; i < w.Length; i++)
        {
            float gi = g[i] + decay * w[i];
            if (momentum > 0) gi = v[i] = momentum * v[i] + gi;
            w[i] -= lr * gi;
        }
    }

    /// <summary>
    /// Adam (Kingma &amp; Ba 2015, Alg. 1): m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
    /// w ← w − lr·(m/c₁)/(√(v/c₂) + ε) with c₁ = 1−β₁ᵗ, c₂ = 1−β₂ᵗ. L2 decay added to g as PyTorch's Adam.
    /// </summary>
    public static void Adam(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float decay, int step)
    {
        float c1 = 1f - MathF.Pow(beta1, step), c2 = 1f - MathF.Pow(beta2, step);
        float stepSize = lr / c1, invSqrtC2 = 1f / MathF.Sqrt(c2);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            var b1 = new Vector<float>(beta1); var b1c = new Vector<float>(1f - beta1);
            var b2 = new Vector<float>(beta2); var b2c = new Vector<float>(1f - beta2);
            var epsV = new Vector<float>(eps); var stepV = new Vector<float>(stepSize);
            var scaleV = new Vector<float>(invSqrtC2); var decayV = new Vector<float>(decay);
            for (; i <= w.Length - width; i += width)
            {
                var wv = new Vector<float>(w[i..]);
                var gv = new Vector<float>(g[i..]) + decayV * wv;
                var mv = b1 * new Vector<float>(m[i..]) + b1c * gv;
                var vv = b2 * new Vector<float>(v[i..]) + b2c * gv * gv;
                mv.CopyTo(m[i..]);
                vv.CopyTo(v[i..]);
                (wv - stepV * mv / (Vector.SquareRoot(vv) * scaleV + epsV)).CopyTo(w[i..]);
            }
        }
        for (; i < w.Length; i++)
        {
            float gi = g[i] + decay * w[i];
            m[i] = beta1 * m[i] + (1f - beta1) * gi;
            v[i] = beta2 * v[i] + (1f - beta2) * gi * gi;
            w[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) * invSqrtC2 + eps);
        }
    }
}
