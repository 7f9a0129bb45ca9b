namespace Distributed.Coordinator;

/// <summary>
/// The epoch's global sample order, a pure function of (seed, epoch, count): every run, resume and worker count
/// sees the same order. SplitMix64 rather than System.Random so the order never depends on the runtime version.
/// One instance per run caches the current epoch's permutation, so a step's batch is a slice of it.
/// </summary>
public sealed class SampleOrder(int count, int seed, int globalBatch)
{
    private int _epoch = -1;
    private int[] _permutation = [];

    public int Count { get; } = count;
    public int StepsPerEpoch { get; } = (count + globalBatch - 1) / globalBatch;

    /// <summary>The samples of training step <paramref name="step"/> (0-based over the whole run), in global order.</summary>
    public ReadOnlySpan<int> BatchOf(long step)
    {
        var epoch = EpochOf(step);
        if (epoch != _epoch)
        {
            _permutation = Permutation(Count, seed, epoch);
            _epoch = epoch;
        }
        var start = (int)(step % StepsPerEpoch) * globalBatch;
        return _permutation.AsSpan(start, Math.Min(globalBatch, Count - start));
    }

    public int EpochOf(long step) => (int)(step / StepsPerEpoch);

    public static int[] Permutation(int count, int seed, int epoch)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++) order[i] = i;
        var state = ((ulong)(uint)seed << 32) ^ (ulong)(uint)epoch ^ 0x9E3779B97F4A7C15UL;
        for (var i = count - 1; i > 0; i--)
        {
            var j = (int)(Next(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    private static ulong Next(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
