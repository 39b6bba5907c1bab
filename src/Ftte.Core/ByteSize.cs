using System.Globalization;

namespace Ftte.Core;

/// <summary>Parses and prints byte sizes: "262144", "256KiB", "256KB", "1.5MiB", "2GB" (KB = KiB = 1024; memory budgets are binary).</summary>
public static class ByteSize
{
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        int i = 0;
        while (i < t.Length && (char.IsDigit(t[i]) || t[i] == '.')) i++;
        string unit = t[i..].Trim().ToUpperInvariant();
        long multiplier = unit switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            _ => -1,
        };
        if (i == 0 || multiplier < 0 || !double.TryParse(t[..i], NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0)
            throw new FormatException($"'{text}' is not a byte size; write e.g. 262144, 256KiB, 1.5MiB or 2GiB.");
        return checked((long)Math.Round(value * multiplier));
    }

    public static string Format(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("0.00", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
    };
}
