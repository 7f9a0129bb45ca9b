namespace Distributed.Coordinator;

/// <summary>How a batch of sample indices is cut into shards, one per worker (training) or of bounded size (evaluation).</summary>
public static class ShardSplit
{
    /// <summary>Splits <paramref name="count"/> items into <paramref name="parts"/> contiguous ranges whose sizes differ by at most one.</summary>
    public static (int Start, int Length)[] Even(int count, int parts)
    {
        var ranges = new (int, int)[parts];
        var start = 0;
        for (var p = 0; p < parts; p++)
        {
            var length = count / parts + (p < count % parts ? 1 : 0);
            ranges[p] = (start, length);
            start += length;
        }
        return ranges;
    }

    /// <summary>
    /// A training step has one shard per worker. An evaluation pass is cut into shards of at most one global
    /// batch, dealt round-robin, so a lost worker costs little and each shard's deadline stays comparable to a step.
    /// </summary>
    public static int Parts(bool training, int samples, int workers, int globalBatch) => training
        ? Math.Max(1, Math.Min(workers, samples))
        : Math.Max(Math.Max(1, workers), (samples + globalBatch - 1) / globalBatch);

    /// <summary>The shards' sample indices, in shard order.</summary>
    public static int[][] Cut(ReadOnlySpan<int> indices, int parts)
    {
        var ranges = Even(indices.Length, parts);
        var shards = new int[ranges.Length][];
        for (var i = 0; i < ranges.Length; i++) shards[i] = indices.Slice(ranges[i].Start, ranges[i].Length).ToArray();
        return shards;
    }
}
