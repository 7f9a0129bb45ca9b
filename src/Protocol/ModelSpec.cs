using MessagePack;

namespace Distributed.Protocol;

public enum Architecture { Residual, Plain }

public enum NormKind { Batch, Group, None }

/// <summary>
/// What a worker's forward and backward pass computes in. The parameter server always keeps fp32 weights;
/// with <see cref="BFloat16"/> the worker runs a bf16 copy of the convolutions and the classifier (normalization
/// layers and the loss stay fp32) and hands back fp32 gradients.
/// </summary>
public enum Precision { Float32, BFloat16 }

/// <summary>
/// Everything needed to build the same network on every node. Depth is 6n+2 (20, 32, 44, 56, 110, ...);
/// stage widths are 16, 32, 64 times <see cref="WidthMultiplier"/>. <see cref="Precision"/> and
/// <see cref="ChannelsLast"/> change how workers compute, not the parameters: the flat state is the same.
/// </summary>
[MessagePackObject]
public sealed record ModelSpec(
    [property: Key(0)] Architecture Architecture,
    [property: Key(1)] int Depth,
    [property: Key(2)] int WidthMultiplier,
    [property: Key(3)] NormKind Norm,
    [property: Key(4)] int InputChannels,
    [property: Key(5)] int ImageHeight,
    [property: Key(6)] int ImageWidth,
    [property: Key(7)] int ClassCount,
    [property: Key(8)] float ResidualScale = 1f,
    [property: Key(9)] bool ZeroInitLastNorm = false,
    [property: Key(10)] Precision Precision = Precision.Float32,
    [property: Key(11)] bool ChannelsLast = false)
{
    public static ModelSpec ResNet20FashionMnist { get; } =
        new(Architecture.Residual, 20, 1, NormKind.Batch, 1, 28, 28, 10);

    [IgnoreMember] public int BlocksPerStage => (Depth - 2) / 6;

    [IgnoreMember]
    public string Name => $"{(Architecture == Architecture.Residual ? "resnet" : "plain")}-{Depth}"
        + (WidthMultiplier == 1 ? "" : $"x{WidthMultiplier}")
        + (Norm == NormKind.Batch ? "" : $"-{Norm.ToString().ToLowerInvariant()}norm");

    /// <summary>Returns the first problem with this spec, or null when it can be built.</summary>
    public string? Validate()
    {
        if (Depth < 8 || (Depth - 2) % 6 != 0)
            return $"depth {Depth} is not of the form 6n+2 with n >= 1 (valid: 8, 14, 20, 32, 44, 56, 110, ...)";
        if (WidthMultiplier < 1 || WidthMultiplier > 64) return $"width multiplier {WidthMultiplier} must be between 1 and 64";
        if (InputChannels < 1) return $"input channels {InputChannels} must be at least 1";
        if (ImageHeight < 4 || ImageWidth < 4) return $"image size {ImageHeight}x{ImageWidth} must be at least 4x4";
        if (ClassCount < 2) return $"class count {ClassCount} must be at least 2";
        if (!float.IsFinite(ResidualScale) || ResidualScale < 0) return $"residual scale {ResidualScale} must be a finite number >= 0";
        return null;
    }

    public ModelSpec EnsureValid() =>
        Validate() is { } problem ? throw new ArgumentException($"Invalid model: {problem}.") : this;
}

/// <summary>Which dataset every worker loads, and how it augments training samples.</summary>
[MessagePackObject]
public sealed record DataSpec(
    [property: Key(0)] string Name,
    [property: Key(1)] string? Path,
    [property: Key(2)] int CropPadding,
    [property: Key(3)] bool HorizontalFlip,
    [property: Key(4)] int TrainLimit = 0,
    [property: Key(5)] int TestLimit = 0);
