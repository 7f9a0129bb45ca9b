using TorchSharp;
using static TorchSharp.torch;

using Distributed.Protocol;

namespace Distributed.Model.Nets;

internal static class NormalizationLayers
{
    /// <summary>
    /// Group norm with groups of (at most) 4 channels keeps the per-group statistics meaningful at width 16
    /// while staying independent of the batch, which makes sharded gradients exactly the global-batch gradient.
    /// </summary>
    public static int GroupCount(int channels) => Math.Max(1, channels / 4);

    public static nn.Module<Tensor, Tensor> Create(NormKind kind, int channels) => kind switch
    {
        NormKind.Batch => nn.BatchNorm2d(channels),
        NormKind.Group => nn.GroupNorm(GroupCount(channels), channels),
        NormKind.None => nn.Identity(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown normalization"),
    };
}
