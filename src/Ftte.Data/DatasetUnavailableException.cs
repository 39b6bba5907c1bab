namespace Ftte.Data;

/// <summary>
/// A dataset could not be fetched or verified (offline, a package tool missing, checksum mismatch).
/// The message says which dataset, what failed, and how to place the files by hand.
/// </summary>
public sealed class DatasetUnavailableException : Exception
{
    public DatasetUnavailableException(string dataset, string message, Exception? inner = null)
        : base(message, inner)
    {
        Dataset = dataset;
    }

    /// <summary>The catalog name of the dataset that could not be made available.</summary>
    public string Dataset { get; }
}
