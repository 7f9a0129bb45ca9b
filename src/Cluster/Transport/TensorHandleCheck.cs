using Distributed.Protocol;

namespace Distributed.Cluster.Transport;

/// <summary>
/// Whether a tensor handle that arrived in a message may be fetched. A handle is a peer's claim: its host must be the
/// node that sent it (so no peer can make this node connect elsewhere or pull another node's tensors), and its length
/// must be the one this node expects for the model (so no peer can make it rent gigabytes).
/// </summary>
public static class TensorHandleCheck
{
    /// <param name="senderHost">Host of the Akka address the handle came from; null when it came from this very process (trusted).</param>
    /// <param name="expectedLength">The model's state length as this node knows it; null when it does not know it yet.</param>
    /// <returns>Null when the handle may be fetched, otherwise what is wrong with it.</returns>
    public static string? Problem(TensorHandle handle, string? senderHost, int? expectedLength)
    {
        if (expectedLength is not { } expected)
            return $"tensor handle {handle.Id:x16} arrived before this node knew the model's state length: refused";
        if (handle.Length != expected)
            return $"tensor handle {handle.Id:x16} announces {handle.Length} floats, the model's state has {expected}: refused";
        if (senderHost is not null && !string.Equals(handle.Host, senderHost, StringComparison.OrdinalIgnoreCase))
            return $"tensor handle {handle.Id:x16} points at {handle.Host}:{handle.Port}, but came from {senderHost}: refused";
        return null;
    }

    /// <summary>
    /// Whether elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) may be fetched
    /// of a handle whose whole length this node expects to be <paramref name="expectedLength"/>: null when they may,
    /// otherwise what is wrong (a length other than expected, a negative start or count, a range past the end).
    /// </summary>
    public static string? RangeProblem(TensorHandle handle, int start, int count, int expectedLength)
    {
        if (expectedLength < 0 || handle.Length != expectedLength)
            return $"tensor handle {handle.Id:x16} from {handle.Host}:{handle.Port} announces {handle.Length} floats, expected {expectedLength}: refused";
        if (start < 0 || count < 0)
            return $"range [{start}, {(long)start + count}) of tensor {handle.Id:x16} has a negative start or count: refused";
        if ((long)start + count > handle.Length)
            return $"range [{start}, {(long)start + count}) of tensor {handle.Id:x16} runs past its {handle.Length} floats: refused";
        return null;
    }

    /// <summary>
    /// Whether the ranges of a state a request names (direct pull from server nodes) may be fetched: each must be served
    /// by a cluster member with the server role (<paramref name="isServerHost"/>), so no peer can point this node at a
    /// third host, and together, in order, they must tile [0, <paramref name="expectedLength"/>) exactly, each non-empty,
    /// so no peer can make it rent more than one state or leave part of it unwritten.
    /// </summary>
    /// <param name="expectedLength">The model's state length as this node knows it; null when it does not know it yet.</param>
    /// <returns>Null when every range may be fetched, otherwise what is wrong.</returns>
    public static string? StateRangesProblem(IReadOnlyList<StateRangeHandle> ranges, Func<string, bool> isServerHost, int? expectedLength)
    {
        if (expectedLength is not { } expected)
            return "state ranges arrived before this node knew the model's state length: refused";
        if (ranges.Count is 0 or > ResultReaderLimits.Max)
            return $"{ranges.Count} state ranges (1 to {ResultReaderLimits.Max}): refused";
        long next = 0;
        foreach (var range in ranges)
        {
            var handle = range.Handle;
            if (!isServerHost(handle.Host))
                return $"state range [{range.Start}, {(long)range.Start + handle.Length}) is served by {handle.Host}:{handle.Port}, which is no server node of this cluster: refused";
            if (range.Start != next || handle.Length <= 0)
                return $"state range [{range.Start}, {(long)range.Start + handle.Length}) does not follow [0, {next}) of a state of {expected}: " +
                    "the ranges must tile it in order: refused";
            next += handle.Length;
            if (next > expected) return $"state ranges reach {next} values, the model's state has {expected}: refused";
        }
        return next == expected ? null : $"state ranges cover [0, {next}), the model's state has {expected} values: refused";
    }
}
