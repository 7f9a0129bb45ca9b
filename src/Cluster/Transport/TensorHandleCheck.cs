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
}
