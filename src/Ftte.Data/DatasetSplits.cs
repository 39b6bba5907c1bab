namespace Ftte.Data;

/// <summary>The train and test splits of one dataset, normalised with statistics of the train split.</summary>
public sealed record DatasetSplits(Dataset Train, Dataset Test);
