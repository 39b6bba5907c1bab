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

    /// <summary>
    /// Replaces every weight of <paramref name="model"/> with those saved in <paramref name="path"/> (the format of
    /// <see cref="ParameterSerializer"/>, as `ftte train --save` writes it) — a start from pretrained weights, as
    /// Flower's initial_parameters or PyTorch's load_state_dict. The file must hold every tensor of this model, in
    /// order, with the same shapes; on any mismatch the model is left untouched.
    /// </summary>
    public static void LoadParameters(Model model, string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Initial weights file '{path}' does not exist; write one with `ftte train --model {model.Name} --save {path}`.", path);
        try
        {
            ParameterSerializer.DeserializeExact(model, null, File.ReadAllBytes(path));
        }
        catch (FormatException e)
        {
            throw new FormatException($"'{path}' does not hold the parameters of model '{model.Name}' ({model.ParameterCount:N0} parameters): {e.Message}", e);
        }
    }
}
