using System.Security.Cryptography;
using Ftte.Core.Config;
using Ftte.Engine;
using Ftte.Engine.Models;

namespace Ftte.Federation.Config;

/// <summary>
/// The <c>initialWeights</c> key of the simulator's and the server's configs: every strategy of a run starts from the
/// weights in a file (written by <c>ftte train --save</c>) instead of the seed's random initialisation — a pretrained
/// backbone, as sparse on-device training assumes (Lin et al. 2022 fine-tune from ImageNet weights).
/// </summary>
public static class InitialWeightsFile
{
    public const string Doc = "Start every strategy from the weights in this file (written by `ftte train --save`) instead of the seed's random initialisation; absent: random.";

    /// <summary>Loads the file into <paramref name="model"/>; a missing or mismatched file is a config error at <paramref name="configPath"/>.</summary>
    public static void Load(Model model, string path, string configPath)
    {
        try
        {
            ModelSource.LoadParameters(model, path);
        }
        catch (Exception e) when (e is FileNotFoundException or FormatException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(configPath, e.Message);
        }
    }

    /// <summary>The file's SHA-256 (first 16 hex digits), so a report says exactly which weights a run started from.</summary>
    public static string Fingerprint(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream))[..16];
    }
}
