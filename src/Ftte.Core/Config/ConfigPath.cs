namespace Ftte.Core.Config;

/// <summary>JSON paths as the binder prints them: <c>$</c> for the document, then <c>fleet.devices</c>, <c>strategies[1].bufferSize</c>.</summary>
public static class ConfigPath
{
    public const string Root = "$";

    /// <summary>The path of <paramref name="key"/> inside the object at <paramref name="parent"/>; keys that are not identifiers are quoted (<c>profiles["my phone"]</c>).</summary>
    public static string Child(string parent, string key)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(key);
        if (!IsIdentifier(key)) return parent + "[\"" + key.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"]";
        return parent == Root ? key : parent + "." + key;
    }

    /// <summary>The path of item <paramref name="index"/> of the list at <paramref name="parent"/>.</summary>
    public static string Index(string parent, int index)
    {
        ArgumentNullException.ThrowIfNull(parent);
        return parent + "[" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";
    }

    private static bool IsIdentifier(string key)
    {
        if (key.Length == 0 || char.IsDigit(key[0])) return false;
        foreach (char c in key)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-')) return false;
        return true;
    }
}
