namespace Ftte.Engine.Models;

/// <summary>Resolves a model reference as users write it (`--model`, config files): a built-in name or a JSON description file.</summary>
public static class ModelSource
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
