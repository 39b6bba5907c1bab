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
    /// Flower's initial_parameters or PyTorch's load_state_dict.
    /// </summary>
    public static void LoadParameters(Model model, string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Initial weights file '{path}' does not exist; write one with `ftte train --save {path}`.", path);
        LoadParameters(model, File.ReadAllBytes(path), $"'{path}'");
    }

    /// <summary>
    /// As <see cref="LoadParameters(Model, string)"/> from bytes already read (<paramref name="source"/> names them in
    /// errors). They must hold every tensor of this model, in order, with the same shapes, and only finite values (a
    /// diverged run's NaN weights would make every later update non-finite); on any mismatch the model is left untouched.
    /// </summary>
    public static void LoadParameters(Model model, ReadOnlySpan<byte> bytes, string source)
    {
        var loaded = model.Clone();
        try
        {
            ParameterSerializer.DeserializeExact(loaded, null, bytes);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{source} does not hold the parameters of model '{model.Name}' ({model.ParameterCount:N0} parameters): {e.Message}", e);
        }
        if (FirstNonFinite(loaded) is { } bad)
            throw new FormatException($"{source} holds a non-finite value ({bad.Value}) in tensor '{bad.Tensor}': the run that saved it diverged; train it again (e.g. with a lower --lr).");
        loaded.Weights.CopyTo(model.Weights);
    }

    /// <summary>The first NaN or infinite weight of <paramref name="model"/> and its tensor, or null when all are finite.</summary>
    public static (string Tensor, float Value)? FirstNonFinite(Model model)
    {
        foreach (var p in model.Parameters)
            foreach (float x in p.Data)
                if (!float.IsFinite(x)) return (p.Name, x);
        return null;
    }
}
