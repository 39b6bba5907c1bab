using System.Globalization;

namespace Ftte.Client;

/// <summary>What a device knows about an update before it decides to send it.</summary>
/// <param name="ValidationBefore">Accuracy of the base weights on the device's own validation data (null: the trainer has none).</param>
/// <param name="ValidationAfter">Accuracy of the trained weights on the same data.</param>
public sealed record UpdateCheckContext(TrainingRequest Task, LocalUpdate Update, double? ValidationBefore, double? ValidationAfter);

/// <summary>An on-device validation hook: null when the update may be sent, else the reason it is withheld.</summary>
public delegate string? UpdateCheck(UpdateCheckContext context);

/// <summary>
/// Built-in on-device checks. A withheld update is never uploaded: the device gives the task back with the reason
/// (the server counts it), so a bad local round costs no bandwidth and never reaches the model.
/// </summary>
public static class UpdateChecks
{
    /// <summary>The training loss, when reported, is finite.</summary>
    public static UpdateCheck FiniteLoss { get; } = c =>
        double.IsInfinity(c.Update.Loss) ? $"training loss is {c.Update.Loss.ToString(CultureInfo.InvariantCulture)}" : null;

    /// <summary>Every value of Δ is finite.</summary>
    public static UpdateCheck FiniteDelta { get; } = c =>
    {
        var d = c.Update.Delta;
        for (int i = 0; i < d.Length; i++)
            if (!float.IsFinite(d[i])) return $"the update holds {d[i].ToString(CultureInfo.InvariantCulture)} at parameter {i}";
        return null;
    };

    /// <summary>‖Δ‖₂ at most <paramref name="limit"/>.</summary>
    public static UpdateCheck MaxNorm(double limit) => c =>
    {
        double sum = 0;
        foreach (float x in c.Update.Delta) sum += (double)x * x;
        double norm = Math.Sqrt(sum);
        return norm > limit ? string.Create(CultureInfo.InvariantCulture, $"update norm {norm:G4} exceeds {limit:G4}") : null;
    };

    /// <summary>Local validation accuracy does not drop by more than <paramref name="points"/> (0.05 = five points) after training.</summary>
    public static UpdateCheck MaxAccuracyDrop(double points) => c =>
        c.ValidationBefore is double before && c.ValidationAfter is double after && before - after > points
            ? string.Create(CultureInfo.InvariantCulture, $"local validation accuracy fell from {before:P1} to {after:P1} (more than {points * 100:0.#} points)")
            : null;

    /// <summary>The checks every device runs unless told otherwise.</summary>
    public static IReadOnlyList<UpdateCheck> Defaults { get; } = [FiniteLoss, FiniteDelta];
}
