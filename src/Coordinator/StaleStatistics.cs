namespace Distributed.Coordinator;

/// <summary>
/// Bounded staleness and batch-norm running statistics. A worker trains shard k of step t on version v = t − τ and
/// returns the running statistics after its forward pass, r = m·S_v + (1 − m)·b (S_v: the statistics of version v,
/// b: the shard's batch statistics, m = 1 − momentum = 0.9 for PyTorch's BatchNorm2d default). The parameter server
/// replaces the statistics by the shards' weighted mean of r, which in synchronous mode (v = t) is the exponential
/// average m·S_t + (1 − m)·mean b. Taken as they are, stale shards would instead restart the average from S_{t−τ},
/// throwing away τ steps of it: the average then moves in interleaved chains that each advance once every τ + 1
/// steps. <see cref="Rebase"/> moves r onto S_t, r + m·(S_t − S_v) = m·S_t + (1 − m)·b, so only the batch
/// statistics b are stale, as the gradient is, and the average advances once per step as in synchronous mode.
/// Pure: the coordinator holds the recent versions' statistics and calls it before a step goes to the server.
/// </summary>
public static class StaleStatistics
{
    /// <summary>1 − momentum of <c>nn.BatchNorm2d</c> (PyTorch's default momentum 0.1, src/Model/Nets/NormalizationLayers.cs).</summary>
    public const float Keep = 0.9f;

    /// <summary>r ← r + m·(now − then), element by element: a shard's running statistics moved from version v's onto version t's.</summary>
    public static void Rebase(Span<float> shardStatistics, ReadOnlySpan<float> now, ReadOnlySpan<float> then)
    {
        if (now.Length != shardStatistics.Length || then.Length != shardStatistics.Length)
            throw new ArgumentException($"running statistics of {shardStatistics.Length}, {now.Length} and {then.Length} values do not line up");
        for (var i = 0; i < shardStatistics.Length; i++) shardStatistics[i] += Keep * (now[i] - then[i]);
    }
}
