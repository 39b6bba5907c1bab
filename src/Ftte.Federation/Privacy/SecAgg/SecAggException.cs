namespace Ftte.Federation.Privacy.SecAgg;

/// <summary>What went wrong in a SecAgg round; the message says who and what to do.</summary>
public enum SecAggError
{
    /// <summary>A message from another round (a replay) or addressed to another client.</summary>
    WrongRound,
    /// <summary>A message arrived in a phase that does not take it (too early, too late, or twice).</summary>
    WrongPhase,
    /// <summary>A client id outside the round, not a neighbour, or not in the set the phase expects.</summary>
    UnknownClient,
    /// <summary>The same client sent the same message twice in one round.</summary>
    Duplicate,
    /// <summary>A vector, key or share of the wrong size, or a key that is not a P-256 point.</summary>
    Malformed,
    /// <summary>A share envelope failed AES-GCM authentication.</summary>
    AuthenticationFailed,
    /// <summary>Revealed shares do not rebuild the committed secret.</summary>
    InconsistentShares,
    /// <summary>The server asked for both the self-mask share and the mask-key share of one client.</summary>
    BothSharesRequested,
    /// <summary>Too few clients or shares left to unmask: see <see cref="SecAggThresholdException"/>.</summary>
    BelowThreshold,
}

/// <summary>A refused message or an impossible step of a SecAgg round. Refusing a message leaves the session as it was.</summary>
public class SecAggException : Exception
{
    public SecAggException(SecAggError error, long roundId, string message) : base(message)
    {
        Error = error;
        RoundId = roundId;
    }

    public SecAggError Error { get; }
    public long RoundId { get; }
}

/// <summary>
/// Too many dropouts: some secret has fewer than <see cref="Threshold"/> shares among the clients still present,
/// so the sum cannot be unmasked (and no single input is revealed either).
/// </summary>
public sealed class SecAggThresholdException : SecAggException
{
    public SecAggThresholdException(long roundId, int survived, int clients, int threshold, int? owner, int sharesAvailable, string message)
        : base(SecAggError.BelowThreshold, roundId, message)
    {
        Survived = survived;
        Clients = clients;
        Threshold = threshold;
        Owner = owner;
        SharesAvailable = sharesAvailable;
    }

    /// <summary>Clients still in the round at the failing step.</summary>
    public int Survived { get; }
    /// <summary>Clients the round started with.</summary>
    public int Clients { get; }
    /// <summary>t: shares needed to rebuild one secret.</summary>
    public int Threshold { get; }
    /// <summary>The client whose secret could not be rebuilt (null when the round as a whole fell short).</summary>
    public int? Owner { get; }
    /// <summary>Shares of that secret still available.</summary>
    public int SharesAvailable { get; }
}
