namespace Ftte.Federation.Aggregation;

public enum StalenessKind { Constant, Polynomial, Hinge, InverseSqrt }

/// <summary>
/// s(τ): how much an update that is τ server versions old still counts.
/// Constant s = 1; polynomial s = (1+τ)^−a; hinge s = 1 for τ ≤ b, else 1/(a(τ−b)+1) (Xie et al. 2019,
/// FedAsync, §5.2); inverse square root s = 1/√(1+τ) (Nguyen et al. 2022, FedBuff).
/// </summary>
public sealed record StalenessFunction(StalenessKind Kind, double A = 0.5, double B = 4)
{
    public static StalenessFunction Constant { get; } = new(StalenessKind.Constant);
    public static StalenessFunction InverseSqrt { get; } = new(StalenessKind.InverseSqrt);
    public static StalenessFunction Polynomial(double a) => new(StalenessKind.Polynomial, a);
    public static StalenessFunction Hinge(double a, double b) => new(StalenessKind.Hinge, a, b);

    public double Weight(int tau)
    {
        if (tau < 0) throw new ArgumentOutOfRangeException(nameof(tau), tau, "Staleness is a count of versions, never negative.");
        return Kind switch
        {
            StalenessKind.Constant => 1.0,
            StalenessKind.Polynomial => Math.Pow(1.0 + tau, -A),
            StalenessKind.Hinge => tau <= B ? 1.0 : 1.0 / (A * (tau - B) + 1.0),
            StalenessKind.InverseSqrt => 1.0 / Math.Sqrt(1.0 + tau),
            _ => throw new InvalidOperationException($"Unknown staleness kind {Kind}."),
        };
    }

    public override string ToString() => Kind switch
    {
        StalenessKind.Polynomial => $"poly(a={A})",
        StalenessKind.Hinge => $"hinge(a={A},b={B})",
        StalenessKind.InverseSqrt => "1/sqrt(1+t)",
        _ => "constant",
    };
}
