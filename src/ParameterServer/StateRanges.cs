namespace Distributed.ParameterServer;

/// <summary>
/// Cuts the flat state into the ranges of K parameter servers: contiguous, covering every value exactly once, equal
/// in bytes to within one block, and starting on a block of <see cref="Alignment"/> floats (64 bytes: one cache line,
/// and whole vectors for the averaging and SGD loops).
/// </summary>
public static class StateRanges
{
    public const int Alignment = 16;

    /// <summary>
    /// K servers need at least K blocks: more servers than blocks are refused rather than quietly capped, since the
    /// caller asked for that many and would otherwise measure something else than it thinks.
    /// </summary>
    public static IReadOnlyList<StateRange> Split(int length, int servers)
    {
        if (length < 1) throw new ArgumentException($"the state has {length} values; a parameter server needs at least one");
        if (servers < 1) throw new ArgumentException($"{servers} parameter servers: at least one is needed");
        var blocks = (length + Alignment - 1) / Alignment;
        if (servers > blocks)
        {
            throw new ArgumentException($"{servers} parameter servers for a state of {length} values: each needs at least one block of " +
                $"{Alignment} values, so at most {blocks} servers");
        }
        var ranges = new StateRange[servers];
        for (var i = 0; i < servers; i++)
        {
            // Block boundaries ⌊blocks·i/K⌋ give every server ⌊blocks/K⌋ or ⌈blocks/K⌉ blocks; the last block may be partial.
            var start = (int)((long)blocks * i / servers) * Alignment;
            var end = i == servers - 1 ? length : (int)((long)blocks * (i + 1) / servers) * Alignment;
            ranges[i] = new StateRange(start, end);
        }
        return ranges;
    }
}
