namespace Ftte.Engine.Models;

/// <summary>The models FTTE.NET ships: small enough for a watch, real enough to learn MNIST-class data.</summary>
public static class BuiltInModels
{
    public static IReadOnlyList<string> Names { get; } = ["mlp", "lenet", "mobilenetv2-tiny"];

    public static Model Create(string name, ulong seed = 0, Shape? input = null, int classes = 10) => name switch
    {
        "mlp" => Mlp(input?.Size ?? 784, classes, seed),
        "lenet" => LeNet(input ?? new Shape(1, 28, 28), classes, seed),
        "mobilenetv2-tiny" => MobileNetV2Tiny(input ?? new Shape(3, 32, 32), classes, seed),
        _ => throw new ArgumentException($"Unknown model '{name}'. Built-in models: {string.Join(", ", Names)} (or pass a JSON description file)."),
    };

    /// <summary>MLP 784-128-64-10 with ReLU.</summary>
    public static Model Mlp(int inputs = 784, int classes = 10, ulong seed = 0)
    {
        var b = new ModelBuilder("mlp", new Shape(inputs));
        var x = b.Relu(b.Linear(b.Input, 128, "fc1"));
        x = b.Relu(b.Linear(x, 64, "fc2"));
        x = b.Linear(x, classes, "fc3");
        return b.Build(x, seed);
    }

    /// <summary>LeNet-style CNN for 28×28×1: conv 8 (3×3) → pool → conv 16 (3×3) → pool → 64 → 10.</summary>
    public static Model LeNet(Shape? input = null, int classes = 10, ulong seed = 0)
    {
        var b = new ModelBuilder("lenet", input ?? new Shape(1, 28, 28));
        var x = b.MaxPool2d(b.Relu(b.Conv2d(b.Input, 8, kernel: 3, padding: 1, name: "conv1")), 2);
        x = b.MaxPool2d(b.Relu(b.Conv2d(x, 16, kernel: 3, padding: 1, name: "conv2")), 2);
        x = b.Relu(b.Linear(b.Flatten(x), 64, "fc1"));
        x = b.Linear(x, classes, "fc2");
        return b.Build(x, seed);
    }

    /// <summary>
    /// A tiny MobileNetV2 (Sandler et al. 2018) for 32×32×3: a 3×3 stem, inverted residual blocks
    /// (1×1 expand → ReLU6 → 3×3 depthwise → ReLU6 → 1×1 linear projection, residual add when the shape
    /// is kept), GroupNorm in place of BatchNorm (batch-independent, for tiny on-device batches),
    /// global average pooling and a linear classifier.
    /// </summary>
    public static Model MobileNetV2Tiny(Shape? input = null, int classes = 10, ulong seed = 0)
    {
        var b = new ModelBuilder("mobilenetv2-tiny", input ?? new Shape(3, 32, 32));
        var x = b.Relu6(b.GroupNorm(b.Conv2d(b.Input, 16, kernel: 3, stride: 2, padding: 1, bias: false, name: "stem"), 4, "stem_gn"));
        // (expansion t, output channels c, stride s) per block, as Table 2 of the paper, shrunk.
        (int T, int C, int S)[] blocks = [(1, 8, 1), (4, 16, 2), (4, 16, 1), (4, 24, 2), (4, 24, 1), (4, 32, 1)];
        for (int i = 0; i < blocks.Length; i++)
            x = InvertedResidual(b, x, $"block{i + 1}", blocks[i].T, blocks[i].C, blocks[i].S);
        x = b.Relu6(b.GroupNorm(b.Conv2d(x, 64, kernel: 1, bias: false, name: "head"), 8, "head_gn"));
        x = b.Linear(b.GlobalAvgPool(x), classes, "classifier");
        return b.Build(x, seed);
    }

    private static NodeRef InvertedResidual(ModelBuilder b, NodeRef x, string name, int expansion, int outChannels, int stride)
    {
        int inChannels = x.Shape[0];
        int hidden = inChannels * expansion;
        var h = x;
        if (expansion != 1)
            h = b.Relu6(b.GroupNorm(b.Conv2d(h, hidden, kernel: 1, bias: false, name: $"{name}.expand"), Gn(hidden), $"{name}.expand_gn"));
        h = b.Relu6(b.GroupNorm(b.Conv2d(h, hidden, kernel: 3, stride: stride, padding: 1, groups: hidden, bias: false, name: $"{name}.dw"), Gn(hidden), $"{name}.dw_gn"));
        h = b.GroupNorm(b.Conv2d(h, outChannels, kernel: 1, bias: false, name: $"{name}.project"), Gn(outChannels), $"{name}.project_gn");
        return stride == 1 && inChannels == outChannels ? b.Add(x, h, $"{name}.add") : h;
    }

    private static int Gn(int channels) => channels % 4 == 0 ? 4 : 1;
}
