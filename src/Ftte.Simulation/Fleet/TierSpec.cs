using System.Globalization;
using Ftte.Core;
using Ftte.Simulation.Fleet.Internal;

namespace Ftte.Simulation.Fleet;

/// <summary>
/// How one capability varies across a tier: log-normal around <paramref name="Median"/> (median · e^(σ·z),
/// z ~ N(0, 1)), clipped to [max(Min, median·e^−3σ), min(Max, median·e^3σ)]. Log-normal because device
/// speeds and link rates are products of many factors and span orders of magnitude; the clip keeps the
/// tails physical (a sensor is never a phone) and lets a preset hold a hard limit, e.g. "no sensor can
/// hold full training".
/// </summary>
/// <param name="Median">The typical value (&gt; 0).</param>
/// <param name="Sigma">Standard deviation of the natural log (≥ 0); 0 gives every device the median.</param>
/// <param name="Min">Hard lower bound (≥ 0, ≤ median).</param>
/// <param name="Max">Hard upper bound (≥ median).</param>
public sealed record Spread(double Median, double Sigma = 0, double Min = 0, double Max = double.PositiveInfinity)
{
    /// <summary>The same value for every device.</summary>
    public static Spread Fixed(double value) => new(value);

    /// <summary>The lowest value <see cref="Sample"/> can return.</summary>
    public double Lower => Math.Max(Min, Median * Math.Exp(-3 * Sigma));

    /// <summary>The highest value <see cref="Sample"/> can return.</summary>
    public double Upper => Math.Min(Max, Median * Math.Exp(3 * Sigma));

    public double Sample(Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (Sigma == 0) return Math.Clamp(Median, Lower, Upper);
        return Math.Clamp(Median * Math.Exp(Sigma * rng.NextGaussian()), Lower, Upper);
    }

    internal void Validate(string owner, string field)
    {
        string at = $"{owner}: {field}";
        if (!(double.IsFinite(Median) && Median > 0)) throw Bad($"median is {Show(Median)}; expected a finite number > 0");
        if (!(double.IsFinite(Sigma) && Sigma >= 0)) throw Bad($"sigma is {Show(Sigma)}; expected a finite number ≥ 0");
        if (!(Min >= 0 && Min <= Median)) throw Bad($"min is {Show(Min)}; expected a number in [0, median = {Show(Median)}]");
        if (!(Max >= Median)) throw Bad($"max is {Show(Max)}; expected a number ≥ median = {Show(Median)}");
        return;

        ArgumentException Bad(string what) => new($"{at} {what}.", field);
    }

    private static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>
/// One class of device in a generated fleet. Capabilities are drawn per device from the spreads; the
/// availability and the dropout probability are the tier's.
/// </summary>
/// <param name="Name">Tier name, as it appears in reports and files.</param>
/// <param name="Share">Fraction of the fleet (&gt; 0; shares are normalised to sum to 1).</param>
/// <param name="MemoryBytes">Memory the device can give to training, in bytes.</param>
/// <param name="FlopsPerSecond">Effective training compute, FLOP/s.</param>
/// <param name="DownlinkBitsPerSecond">Server → device bandwidth, bit/s.</param>
/// <param name="UplinkBitsPerSecond">Device → server bandwidth, bit/s.</param>
/// <param name="LatencySeconds">Fixed messaging cost per task, s.</param>
/// <param name="Availability">When the tier's devices are online (each device gets its own timeline from it).</param>
/// <param name="DropoutProbability">Probability that a device abandons a task it started.</param>
public sealed record TierSpec(
    string Name,
    double Share,
    Spread MemoryBytes,
    Spread FlopsPerSecond,
    Spread DownlinkBitsPerSecond,
    Spread UplinkBitsPerSecond,
    Spread LatencySeconds,
    Availability Availability,
    double DropoutProbability)
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming the tier and the field.</summary>
    public void Validate()
    {
        string owner = $"tier '{Name}'";
        if (!DeviceProfile.IsValidTierName(Name))
            throw new ArgumentException(
                $"{owner}: the name is not allowed; use a non-empty name without commas, quotes, control characters or surrounding spaces.", nameof(Name));
        Bounds.Check(Share, Bound.Positive, owner, nameof(Share));
        Check(MemoryBytes, nameof(MemoryBytes));
        // Memory is stored in whole bytes: a tier whose values could round to 0 bytes is a unit mistake.
        if (MemoryBytes.Lower < 1)
            throw new ArgumentException($"{owner}: MemoryBytes can fall below 1 byte; memory is in bytes (use ByteSize.Parse(\"1MiB\")).", nameof(MemoryBytes));
        Check(FlopsPerSecond, nameof(FlopsPerSecond));
        Check(DownlinkBitsPerSecond, nameof(DownlinkBitsPerSecond));
        Check(UplinkBitsPerSecond, nameof(UplinkBitsPerSecond));
        Check(LatencySeconds, nameof(LatencySeconds));
        if (Availability is null) throw new ArgumentException($"{owner}: Availability is missing.", nameof(Availability));
        Availability.Validate(owner);
        Bounds.Check(DropoutProbability, Bound.Probability, owner, nameof(DropoutProbability));
        return;

        void Check(Spread? spread, string field)
        {
            if (spread is null) throw new ArgumentException($"{owner}: {field} is missing.", field);
            spread.Validate(owner, field);
        }
    }
}

/// <summary>A fleet described by its tiers; <see cref="FleetGenerator"/> turns it into devices.</summary>
public sealed record FleetSpec(IReadOnlyList<TierSpec> Tiers)
{
    /// <summary>How far the shares may sum from 1 before it is taken for a mistake rather than rounding (e.g. three tiers of 0.333).</summary>
    public const double ShareSumTolerance = 0.01;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the tier and the field: at least one tier, unique names, valid tiers, shares summing to 1 ± <see cref="ShareSumTolerance"/>.</summary>
    public void Validate()
    {
        if (Tiers is null || Tiers.Count == 0) throw new ArgumentException("A fleet spec needs at least one tier.", nameof(Tiers));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Tiers.Count; i++)
        {
            TierSpec tier = Tiers[i] ?? throw new ArgumentException($"Tier #{i} is null.", nameof(Tiers));
            tier.Validate();
            if (!names.Add(tier.Name)) throw new ArgumentException($"Tier name '{tier.Name}' appears twice; tier names must be unique.", nameof(Tiers));
        }
        double sum = Tiers.Sum(t => t.Share);
        if (Math.Abs(sum - 1) > ShareSumTolerance)
            throw new ArgumentException(
                $"The tier shares sum to {sum.ToString("R", CultureInfo.InvariantCulture)} ({string.Join(", ", Tiers.Select(t => $"{t.Name}: {t.Share.ToString("R", CultureInfo.InvariantCulture)}"))}); they must sum to 1.", nameof(Tiers));
    }

    /// <summary>The shares normalised to sum to 1.</summary>
    public double[] NormalisedShares()
    {
        double sum = Tiers.Sum(t => t.Share);
        return Tiers.Select(t => t.Share / sum).ToArray();
    }
}
