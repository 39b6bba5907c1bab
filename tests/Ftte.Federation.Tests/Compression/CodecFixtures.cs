using Ftte.Core;
using Ftte.Federation.Compression;

namespace Ftte.Federation.Tests.Compression;

internal static class CodecFixtures
{
    /// <summary>Every codec by name, as configs spell them.</summary>
    public static readonly string[] Names = ["float32", "float16", "q8", "q4", "q2", "q8:128", "topk:0.01", "topk:0.1", "topk:1"];

    /// <summary>Lengths around vector widths and block edges (256), and past top-k's 2-byte index limit.</summary>
    public static readonly int[] Lengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256, 257, 300, 2048, 70_000];

    public static TheoryData<string, int> NamesAndLengths()
    {
        var data = new TheoryData<string, int>();
        foreach (string name in Names)
            foreach (int n in Lengths) data.Add(name, n);
        return data;
    }

    /// <summary>Seeded N(0, σ²) values; σ changes every 256 values so blocks get very different scales.</summary>
    public static float[] Gaussian(int n, ulong seed, bool varyScale = true)
    {
        var rng = new Rng(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double sigma = varyScale ? Math.Pow(10, (i / 256 % 4) - 3) : 1e-2; // 1e-3, 1e-2, 1e-1, 1
            x[i] = (float)(rng.NextGaussian() * sigma);
        }
        return x;
    }

    public static UpdateCodec Codec(string name) => UpdateCodec.Parse(name);
}
