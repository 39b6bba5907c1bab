using System.Text.Json;

namespace Ftte.Federation.Strategies.Internal;

/// <summary>
/// What <see cref="FtteStrategy.SaveState"/> writes and a restarted server hands back, as JSON:
/// <code>
/// { "steps": 12, "budgetBytes": 786432, "configuredBatch": 16, "levels": ["fc1=1/4,fc3", "fc1,fc3"],
///   "reselection": { "afterSteps": 10, "at": 61.2, "before": ["fc2,fc3"], "levels": ["fc1=1/4,fc3"], "batch": 16,
///                    "lateMerged": 1, "lateDropped": 0 },
///   "privacy": { ...the DP state... } }
/// </code>
/// States written before this format are the DP state alone (<see cref="Privacy.Dp.PrivateStep.SaveState"/>): they read
/// as that, with no steps and no re-selection.
/// </summary>
/// <param name="Steps">Server steps made (the re-selection happens at the <see cref="FtteOptions.ReselectAfter"/>-th).</param>
/// <param name="BudgetBytes">M_min as resolved at the first start: a restart must search under the same budget, not one
/// resolved from the devices enrolled by then. Null in the earlier format.</param>
/// <param name="ConfiguredBatch">The batch every selection starts from: a restarted server's config holds the first choice's
/// batch, which the search may have halved. Null in the earlier format.</param>
internal sealed record FtteState(int Steps, long? BudgetBytes, int? ConfiguredBatch, FtteReselectionState? Reselection, JsonElement? Privacy)
{
    /// <summary>The levels trained when saved, w* first (null in states written before it was kept): before a switch the only
    /// record of the nested levels, since the stored config holds w* alone.</summary>
    public IReadOnlyList<string>? Levels { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads either format; the current one is an object with <c>steps</c> (the DP state has no such key).</summary>
    /// <exception cref="FormatException">Not JSON, or not a state of either format.</exception>
    public static FtteState Parse(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("steps", out _))
                return root.Deserialize<FtteState>(Json) ?? throw new FormatException("The stored FTTE state is empty.");
            return new FtteState(0, null, null, null, root.Clone());
        }
        catch (JsonException e)
        {
            throw new FormatException($"The stored FTTE state is not valid: {e.Message}", e);
        }
    }
}

/// <summary>A re-selection as stored: when, the sets before and after (smallest level first, as trainable-set strings), the new batch, late updates.</summary>
internal sealed record FtteReselectionState(int AfterSteps, double At, IReadOnlyList<string> Before, IReadOnlyList<string> Levels, int Batch,
    int LateMerged, int LateDropped);
