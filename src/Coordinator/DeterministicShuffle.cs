namespace Distributed.Coordinator;

/// <summary>
/// The epoch's global sample order, a pure function of (seed, epoch, count): every run, resume and worker count
/// sees the same order. SplitMix64 rather than System.Random so the order never depends on the runtime version.
/// </summary>
public static class DeterministicShuffle
{
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

    /// <summary>Splits <paramref name="count"/> items into <paramref name="parts"/> contiguous ranges whose sizes differ by at most one.</summary>
    public static (int Start, int Length)[] Split(int count, int parts)
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
}
