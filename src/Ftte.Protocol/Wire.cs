using Ftte.Engine.Training;
using Ftte.Federation;
using Ftte.Federation.Compression;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Ftte.Engine;
using V1 = Ftte.Protocol.V1;

namespace Ftte.Protocol;

/// <summary>Conversions between the strategy contract's types and ftte.v1 messages, both directions.</summary>
public static class Wire
{
    public static V1.LocalTraining ToWire(LocalTraining local) => new()
    {
        Epochs = local.Epochs,
        BatchSize = local.BatchSize,
        Optimizer = local.Optimizer.Name,
        LearningRate = local.Optimizer.LearningRate,
        Momentum = local.Optimizer is SgdOptions sgd ? sgd.Momentum : 0f,
        WeightDecay = local.Optimizer.WeightDecay,
        Schedule = local.Schedule.Kind.ToString().ToLowerInvariant(),
    };

    /// <summary>The device's reading of a task's training settings; anything it cannot honour is an error naming the field.</summary>
    public static LocalTraining FromWire(V1.LocalTraining wire)
    {
        if (wire.Epochs is < 1 or > 1000) throw new RpcException(StatusCode.InvalidArgument, $"Task asks for {wire.Epochs} epochs (expected 1–1000).");
        if (wire.BatchSize is < 1 or > 65536) throw new RpcException(StatusCode.InvalidArgument, $"Task asks for batch size {wire.BatchSize} (expected 1–65536).");
        OptimizerOptions optimizer = wire.Optimizer switch
        {
            "sgd" => new SgdOptions { LearningRate = wire.LearningRate, Momentum = wire.Momentum, WeightDecay = wire.WeightDecay },
            "adam" => new AdamOptions { LearningRate = wire.LearningRate, WeightDecay = wire.WeightDecay },
            _ => throw new RpcException(StatusCode.InvalidArgument, $"Task asks for optimizer '{wire.Optimizer}'; this device knows sgd and adam."),
        };
        if (!Enum.TryParse<ScheduleKind>(wire.Schedule, ignoreCase: true, out var schedule))
            throw new RpcException(StatusCode.InvalidArgument, $"Task asks for schedule '{wire.Schedule}'; expected constant, cosine or linear.");
        return new LocalTraining(wire.Epochs, wire.BatchSize, optimizer, new LearningRateSchedule(schedule));
    }

    public static V1.Capabilities ToWire(DeviceInfo d) => new()
    {
        MemoryBytes = d.MemoryBytes,
        FlopsPerSecond = d.FlopsPerSecond,
        DownlinkBitsPerSecond = d.DownlinkBitsPerSecond,
        UplinkBitsPerSecond = d.UplinkBitsPerSecond,
        LatencySeconds = d.LatencySeconds,
        TrainSamples = d.TrainSamples,
        Tier = d.Tier,
    };

    public static V1.Verdict ToWire(UpdateVerdict verdict) => verdict switch
    {
        UpdateVerdict.Accepted => V1.Verdict.Accepted,
        UpdateVerdict.DroppedStale => V1.Verdict.DroppedStale,
        UpdateVerdict.DroppedLate => V1.Verdict.DroppedLate,
        _ => V1.Verdict.Rejected,
    };

    /// <summary>
    /// SHA-256 (hex) of the weights outside <paramref name="trainable"/>: the key under which a device caches the
    /// frozen part (partial broadcast). Server and device compute it the same way, so a device knows its cache is current.
    /// </summary>
    public static string FrozenHash(ReadOnlySpan<float> weights, IReadOnlyList<WeightRange> trainable)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        int at = 0;
        foreach (var r in trainable.OrderBy(r => r.Offset))
        {
            if (r.Offset > at) hash.AppendData(MemoryMarshal.AsBytes(weights[at..r.Offset]));
            at = Math.Max(at, r.End);
        }
        if (at < weights.Length) hash.AppendData(MemoryMarshal.AsBytes(weights[at..]));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Longest codec name read from the wire (the longest real ones, e.g. "topk:0.0001", are far shorter).</summary>
    public const int MaxCodecName = 64;

    /// <summary>
    /// The codec an update chunk (or a task) names: null for the parameter format — an empty name, as devices without
    /// codecs send, or "float32" —, else the <see cref="UpdateCodec"/>. Throws <see cref="FormatException"/> naming the
    /// allowed names.
    /// </summary>
    public static UpdateCodec? UpdateCodecOf(string? name)
    {
        string text = name?.Trim() ?? "";
        if (text.Length > MaxCodecName) throw new FormatException($"codec name of {text.Length} characters (at most {MaxCodecName}); expected one of {UpdateCodec.AllowedText}.");
        return text.Length == 0 || text == UpdateCodec.Float32.Name ? null : UpdateCodec.Parse(text);
    }

    /// <summary>The name a chunk carries for <paramref name="codec"/>: empty for the parameter format (null or float32), so old servers read it.</summary>
    public static string CodecName(UpdateCodec? codec) => codec is null || codec.Kind == CodecKind.Float32 ? "" : codec.Name;
}
