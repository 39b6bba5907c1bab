namespace Ftte.Data;

/// <summary>The layout of a numeric CSV table: one sample per row, one column holding the class label.</summary>
public sealed class CsvFormat
{
    /// <summary>Lines skipped before the data (scikit-learn's files carry one metadata line). Default 1.</summary>
    public int HeaderLines { get; init; } = 1;

    /// <summary>Column holding the integer class label; negative counts from the end. Default -1 (last).</summary>
    public int LabelColumn { get; init; } = -1;

    /// <summary>Column holding a natural group (writer, site, …) for natural partitions; any text. Default none.</summary>
    public int? GroupColumn { get; init; }

    /// <summary>Field separator. Default ','.</summary>
    public char Separator { get; init; } = ',';

    /// <summary>Shape of one sample; default [feature count]. Digits uses [1, 8, 8].</summary>
    public IReadOnlyList<int>? SampleShape { get; init; }

    /// <summary>Number of classes; default the largest label + 1.</summary>
    public int? ClassCount { get; init; }
}
