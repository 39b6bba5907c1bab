namespace Ftte.Data;

/// <summary>How samples are dealt to devices. Every scheme is disjoint and covers the dataset.</summary>
public enum PartitionScheme
{
    /// <summary>Uniformly random, equal sizes (±1).</summary>
    Iid,

    /// <summary>
    /// Label skew: each device draws its label mix q ~ Dirichlet(α·C·p), p the dataset's class
    /// proportions, then fills an equal share by sampling classes from q without replacement
    /// (Hsu, Qi &amp; Brown 2019), after the mixes are fitted to the real class totals (see
    /// the implementation). The mean of q is p, so α → ∞ tends to IID; with balanced classes each
    /// class gets concentration α, so "α = 0.5" means what it usually means in the FL literature.
    /// </summary>
    Dirichlet,

    /// <summary>
    /// Pathological non-IID (McMahan et al. 2017): each device holds exactly k classes. Class sets
    /// are consecutive windows of a shuffled class order, so every class has about N·k/C holders, and
    /// each class's samples are shared equally among its holders.
    /// </summary>
    Shards,

    /// <summary>Quantity skew: IID labels, device sizes proportional to lognormal(0, σ) draws (at least 1 each).</summary>
    QuantitySkew,

    /// <summary>By the dataset's natural group column (writer, site…): whole groups, dealt round-robin in a shuffled order.</summary>
    Natural,
}

/// <summary>Parameters of <see cref="Partitioner.Split"/>; each default is stated on its property.</summary>
public sealed class PartitionOptions
{
    /// <summary>Number of devices N. Default 10.</summary>
    public int Devices { get; init; } = 10;

    /// <summary>Default <see cref="PartitionScheme.Iid"/>.</summary>
    public PartitionScheme Scheme { get; init; } = PartitionScheme.Iid;

    /// <summary>Dirichlet concentration α (Dirichlet scheme). Default 0.5; small is skewed, large is near IID.</summary>
    public double DirichletAlpha { get; init; } = 0.5;

    /// <summary>Classes per device k (Shards scheme). Default 2.</summary>
    public int ClassesPerDevice { get; init; } = 2;

    /// <summary>σ of the lognormal device sizes (QuantitySkew scheme). Default 1.0.</summary>
    public double QuantitySigma { get; init; } = 1.0;

    /// <summary>Fraction of each device's samples held out for on-device validation. Default 0.1.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Seed: the same seed, options and dataset give the same partition. Default 0.</summary>
    public ulong Seed { get; init; }

    internal void Validate(Dataset dataset)
    {
        if (Devices < 1)
            throw new ArgumentOutOfRangeException(nameof(Devices), Devices, "Devices must be at least 1.");
        if (Scheme != PartitionScheme.Natural && Devices > dataset.Count)
            throw new ArgumentOutOfRangeException(nameof(Devices), Devices, $"{dataset.Name} has {dataset.Count} samples: use at most that many devices.");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "ValidationFraction must be in [0, 1), e.g. 0.1.");
        switch (Scheme)
        {
            case PartitionScheme.Dirichlet when !(DirichletAlpha > 0 && double.IsFinite(DirichletAlpha)):
                throw new ArgumentOutOfRangeException(nameof(DirichletAlpha), DirichletAlpha, "The Dirichlet α must be positive and finite, e.g. 0.5.");
            case PartitionScheme.Shards when ClassesPerDevice < 1 || ClassesPerDevice > dataset.ClassCount:
                throw new ArgumentOutOfRangeException(nameof(ClassesPerDevice), ClassesPerDevice, $"Classes per device must be in [1, {dataset.ClassCount}] for {dataset.Name}.");
            case PartitionScheme.QuantitySkew when !(QuantitySigma >= 0 && double.IsFinite(QuantitySigma)):
                throw new ArgumentOutOfRangeException(nameof(QuantitySigma), QuantitySigma, "The lognormal σ must be ≥ 0, e.g. 1.0.");
            case PartitionScheme.Natural when dataset.Groups is null:
                throw new ArgumentException($"{dataset.Name} has no natural group column; use another scheme, or load a CSV with CsvFormat.GroupColumn.", nameof(Scheme));
        }
    }
}
