using Ftte.Core;

namespace Ftte.Data.Internal;

/// <summary>
/// The partition schemes, each as one function from labels to a device per sample (int[] of the
/// dataset's length). Whatever the scheme, the result is disjoint and covering by construction.
/// </summary>
internal static class DeviceAssignment
{
    public static int[] Iid(int count, int devices, Rng rng) => BySizes(count, EqualSizes(count, devices), rng);

    public static int[] QuantitySkew(int count, int devices, double sigma, Rng rng)
    {
        // Sizes ∝ exp(σ·z), z ~ N(0, 1); one sample each first so no device is empty.
        var weights = new double[devices];
        for (int d = 0; d < devices; d++) weights[d] = Math.Exp(sigma * rng.NextGaussian());
        int[] sizes = Apportion(count - devices, weights);
        for (int d = 0; d < devices; d++) sizes[d]++;
        return BySizes(count, sizes, rng);
    }

    /// <summary>
    /// Hsu et al. 2019: q_d ~ Dir(α·C·p), then an equal share sampled from q_d without replacement.
    /// Drawn as is, the devices' mixes ask for more of some classes than exist, and whoever draws last
    /// gets the leftovers. So the demand matrix n_d·q_dc is first fitted to the real class totals by
    /// iterative proportional fitting (Deming–Stephan 1940), which keeps each device's odds between
    /// classes — the skew — and only moves mass where the supply forces it. Devices then draw in turns,
    /// one sample each per round, so the remaining rounding shortfall is shared alike.
    /// </summary>
    public static int[] Dirichlet(int[] labels, int classCount, int devices, double alpha, Rng rng)
    {
        int[][] pools = ClassPools(labels, classCount, rng);
        var remaining = pools.Select(p => p.Length).ToArray();
        int[] sizes = EqualSizes(labels.Length, devices);
        var q = new double[devices, classCount];
        for (int d = 0; d < devices; d++)
        {
            for (int c = 0; c < classCount; c++)
            {
                double prior = (double)pools[c].Length / labels.Length;
                // The floor keeps IPF able to move mass where a Gamma draw underflowed to exactly 0.
                q[d, c] = prior > 0 ? Math.Max(rng.NextGamma(alpha * classCount * prior), 1e-300) : 0;
            }
        }
        FitMarginals(q, sizes, remaining);

        var deviceOf = new int[labels.Length];
        var row = new double[classCount];
        for (int round = 0; round < sizes[0]; round++)
        {
            for (int d = 0; d < devices && sizes[d] > round; d++)
            {
                for (int c = 0; c < classCount; c++) row[c] = q[d, c];
                int chosen = DrawClass(row, remaining, rng);
                deviceOf[pools[chosen][--remaining[chosen]]] = d;
            }
        }
        return deviceOf;
    }

    /// <summary>Scales rows and columns of m in turn until its row sums are rows and its column sums columns.</summary>
    private static void FitMarginals(double[,] m, int[] rows, int[] columns)
    {
        int n = m.GetLength(0), k = m.GetLength(1);
        var columnSums = new double[k];
        for (int iteration = 0; iteration < 200; iteration++)
        {
            for (int d = 0; d < n; d++)
            {
                double sum = 0;
                for (int c = 0; c < k; c++) sum += m[d, c];
                double scale = sum > 0 ? rows[d] / sum : 0;
                for (int c = 0; c < k; c++) m[d, c] *= scale;
            }
            Array.Clear(columnSums);
            for (int d = 0; d < n; d++)
                for (int c = 0; c < k; c++) columnSums[c] += m[d, c];
            double worst = 0;
            for (int c = 0; c < k; c++)
            {
                if (columnSums[c] > 0) worst = Math.Max(worst, Math.Abs(columnSums[c] - columns[c]) / columns[c]);
            }
            if (worst < 1e-3) return; // rows are exact; columns within 0.1 %: the draw's own noise is larger
            for (int d = 0; d < n; d++)
                for (int c = 0; c < k; c++) m[d, c] *= columnSums[c] > 0 ? columns[c] / columnSums[c] : 0;
        }
    }

    /// <summary>A class from q restricted to classes with samples left; by remaining counts if q puts no mass there.</summary>
    private static int DrawClass(double[] q, int[] remaining, Rng rng)
    {
        double total = 0;
        for (int c = 0; c < q.Length; c++) if (remaining[c] > 0) total += q[c];
        // Tiny α makes Gamma draws underflow to 0: then every remaining class is equally unlikely under q.
        bool byCounts = !(total > 0);
        if (byCounts) total = remaining.Sum();
        double u = rng.NextDouble() * total;
        int last = -1;
        for (int c = 0; c < q.Length; c++)
        {
            if (remaining[c] == 0) continue;
            last = c;
            u -= byCounts ? remaining[c] : q[c];
            if (u < 0) return c;
        }
        return last; // rounding left u a hair above 0
    }

    /// <summary>Exactly k classes per device (fewer if a class has fewer samples than holders; more if k·N &lt; C).</summary>
    public static int[] Shards(int[] labels, int classCount, int devices, int k, Rng rng)
    {
        int[][] pools = ClassPools(labels, classCount, rng);
        var order = Enumerable.Range(0, classCount).ToArray();
        rng.Shuffle(order.AsSpan());
        var slots = Enumerable.Range(0, devices).ToArray();
        rng.Shuffle(slots.AsSpan()); // which device gets which window of classes

        var holders = new List<int>[classCount];
        for (int c = 0; c < classCount; c++) holders[c] = [];
        for (int d = 0; d < devices; d++)
        {
            for (int j = 0; j < k; j++) holders[order[(slots[d] * k + j) % classCount]].Add(d);
        }

        var deviceOf = new int[labels.Length];
        for (int c = 0; c < classCount; c++)
        {
            if (pools[c].Length == 0) continue;
            if (holders[c].Count == 0) holders[c].Add(rng.NextInt(devices)); // k·N < C left c uncovered: one random device takes it, to keep covering
            int[] share = EqualSizes(pools[c].Length, holders[c].Count);
            int next = 0;
            for (int h = 0; h < holders[c].Count; h++)
            {
                for (int s = 0; s < share[h]; s++) deviceOf[pools[c][next++]] = holders[c][h];
            }
        }
        return deviceOf;
    }

    /// <summary>Whole groups to devices: groups shuffled, then dealt round-robin.</summary>
    public static int[] Natural(int[] groups, int devices, Rng rng)
    {
        int[] ids = [.. groups.Distinct().Order()];
        if (devices > ids.Length)
            throw new ArgumentOutOfRangeException(nameof(devices), devices, $"The data has {ids.Length} natural groups: use at most that many devices.");
        rng.Shuffle(ids.AsSpan());
        var deviceOfGroup = new Dictionary<int, int>(ids.Length);
        for (int i = 0; i < ids.Length; i++) deviceOfGroup[ids[i]] = i % devices;
        return [.. groups.Select(g => deviceOfGroup[g])];
    }

    /// <summary>n split into parts of ⌊n/m⌋ or ⌈n/m⌉.</summary>
    public static int[] EqualSizes(int n, int parts)
    {
        var sizes = new int[parts];
        for (int p = 0; p < parts; p++) sizes[p] = n / parts + (p < n % parts ? 1 : 0);
        return sizes;
    }

    /// <summary>n split ∝ weights, largest remainders first, so the sizes sum to n exactly.</summary>
    private static int[] Apportion(int n, double[] weights)
    {
        double total = weights.Sum();
        var sizes = new int[weights.Length];
        var remainders = new double[weights.Length];
        int given = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            double exact = n * weights[i] / total;
            sizes[i] = (int)Math.Floor(exact);
            remainders[i] = exact - sizes[i];
            given += sizes[i];
        }
        foreach (int i in Enumerable.Range(0, weights.Length).OrderByDescending(i => remainders[i]).ThenBy(i => i).Take(n - given))
            sizes[i]++;
        return sizes;
    }

    /// <summary>A random permutation dealt out in runs of the given sizes.</summary>
    private static int[] BySizes(int count, int[] sizes, Rng rng)
    {
        var permutation = Enumerable.Range(0, count).ToArray();
        rng.Shuffle(permutation.AsSpan());
        var deviceOf = new int[count];
        int next = 0;
        for (int d = 0; d < sizes.Length; d++)
        {
            for (int s = 0; s < sizes[d]; s++) deviceOf[permutation[next++]] = d;
        }
        return deviceOf;
    }

    /// <summary>Indices of each class, shuffled.</summary>
    private static int[][] ClassPools(int[] labels, int classCount, Rng rng)
    {
        var counts = new int[classCount];
        foreach (int label in labels) counts[label]++;
        var pools = counts.Select(n => new int[n]).ToArray();
        Array.Clear(counts);
        for (int i = 0; i < labels.Length; i++) pools[labels[i]][counts[labels[i]]++] = i;
        foreach (int[] pool in pools) rng.Shuffle(pool.AsSpan());
        return pools;
    }
}
