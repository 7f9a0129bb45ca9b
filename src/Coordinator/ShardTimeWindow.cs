using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>
/// The recent shard times of one worker, for operators: a fixed number of the latest, summarised as nearest-rank
/// percentiles. The coordinator feeds it every training shard the worker answered (counted, late, or beaten by a
/// copy), since with backup workers or speculation a straggler's own times would otherwise never be seen.
/// </summary>
public sealed class ShardTimeWindow
{
    /// <summary>Enough shards for a p90 that moves with a worker's speed, few enough to follow a change within a minute of steps.</summary>
    public const int DefaultCapacity = 64;

    private readonly double[] _times;
    private int _next;

    public ShardTimeWindow(int capacity = DefaultCapacity)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "the window must hold at least one time");
        _times = new double[capacity];
    }

    /// <summary>Times held (at most the capacity).</summary>
    public int Count { get; private set; }

    /// <summary>Times recorded since the start, the ones that left the window included.</summary>
    public long Total { get; private set; }

    /// <summary>Adds one shard's milliseconds; the oldest leaves once the window is full. A time that is not a finite number >= 0 is ignored.</summary>
    public void Add(double milliseconds)
    {
        if (!double.IsFinite(milliseconds) || milliseconds < 0) return;
        _times[_next] = milliseconds;
        _next = (_next + 1) % _times.Length;
        Count = Math.Min(Count + 1, _times.Length);
        Total++;
    }

    /// <summary>p50, p90, p99 and max of the times held; null while there are none.</summary>
    public ShardTimeSummary? Summary()
    {
        if (Count == 0) return null;
        var sorted = _times.AsSpan(0, Count).ToArray();
        Array.Sort(sorted);
        return new ShardTimeSummary(Count, Rank(sorted, 0.50), Rank(sorted, 0.90), Rank(sorted, 0.99), sorted[^1]);
    }

    /// <summary>Nearest rank: the smallest time with at least a fraction q of the times at or below it (a time that was measured, never interpolated).</summary>
    private static double Rank(double[] sorted, double q) => sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1)];

    /// <summary>Takes over an earlier window's times (a worker that rejoined under the same name), oldest first.</summary>
    public void Inherit(ShardTimeWindow earlier)
    {
        var start = earlier.Count < earlier._times.Length ? 0 : earlier._next;
        for (var i = 0; i < earlier.Count; i++) Add(earlier._times[(start + i) % earlier._times.Length]);
        Total += earlier.Total - earlier.Count;
    }
}
