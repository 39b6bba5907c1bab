using Ftte.Engine;
using Ftte.Engine.Models;

namespace Ftte.Cli.Commands;

/// <summary>Resolves `--model`: a built-in name or a JSON description file.</summary>
internal static class ModelLoader
{
    public static Model Load(string spec, ulong seed, Shape? input = null, int classes = 10)
    {
        if (spec.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || File.Exists(spec))
        {
            if (!File.Exists(spec)) throw new FileNotFoundException($"Model description file '{spec}' does not exist.", spec);
            return ModelDescription.Build(ModelDescription.Parse(File.ReadAllText(spec)), seed);
        }
        return BuiltInModels.Create(spec, seed, input, classes);
    }
}
