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

    /// <summary>
    /// Reads the file once into <paramref name="model"/> and returns the SHA-256 (first 16 hex digits) of exactly the bytes
    /// loaded, so a report says which weights a run started from. A missing, foreign or non-finite file is a config error
    /// at <paramref name="configPath"/>; the hint names the `ftte train` command that writes a matching file.
    /// </summary>
    public static string Load(Model model, string path, string configPath, string modelSpec, string dataset)
    {
        if (Directory.Exists(path))
            throw new ConfigException(configPath, $"'{path}' is a directory; name the weights file written by `ftte train --save`.");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException(configPath,
                $"initial weights file '{path}' does not exist; write one with `ftte train --model {modelSpec} --dataset {dataset} --save {path}`.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(configPath, $"cannot read initial weights file '{path}': {e.Message}");
        }
        try
        {
            ModelSource.LoadParameters(model, bytes, $"'{path}'");
        }
        catch (FormatException e)
        {
            throw new ConfigException(configPath, e.Message);
        }
        return Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
    }
}
