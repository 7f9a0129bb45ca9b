using Distributed.Protocol;

namespace Distributed.Cluster.Transport;

// Ranges of result buffers: what a range server fetches of one worker's gradient, whatever its encoding.
public sealed partial class TensorChannel
{
    /// <summary>
    /// Fetches state elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) of a result
    /// buffer parked as <paramref name="handle"/> (its gradient possibly packed to 16 bits, <see cref="GradientEncoding"/>):
    /// only the wire floats that hold them cross the network, and they are decoded into an array of
    /// <paramref name="count"/> rented from the channel's pool. The handle's encoding must be <paramref name="encoding"/>
    /// and its length the packed length that follows from the model, checked before anything is connected.
    /// </summary>
    public async Task<float[]> FetchStateRangeAsync(TensorHandle handle, GradientCompression encoding, int stateLength, int parameterCount,
        int start, int count, CancellationToken cancellationToken = default)
    {
        if (GradientEncoding.Problem(handle, encoding, stateLength, parameterCount) is { } problem) throw new TensorTransferException(problem);
        if (start < 0 || count < 0 || (long)start + count > stateLength)
            throw new TensorTransferException($"state range [{start}, {(long)start + count}) of tensor {handle.Id:x16} does not fit a state of {stateLength}: refused");
        var wireLength = GradientEncoding.WireLength(encoding, stateLength, parameterCount);
        var (wireStart, wireCount, _) = GradientEncoding.WireRange(encoding, stateLength, parameterCount, start, count);
        var wire = await FetchRangeAsync(handle, wireStart, wireCount, wireLength, cancellationToken);
        if (encoding == GradientCompression.None) return wire;
        var result = _buffers.Rent(count);
        GradientEncoding.DecodeRange(wire, encoding, parameterCount, start, result);
        _buffers.Return(wire);
        return result;
    }

    /// <summary>
    /// Fetches a state served in ranges (direct pull: each range from the server node that owns it), all at once, into
    /// one array of <paramref name="stateLength"/> rented from the channel's pool. The caller has checked the ranges
    /// (<see cref="TensorHandleCheck.StateRangesProblem"/>); each fetch checks its handle's length again. If any range
    /// fails the whole fetch fails, and the arrays are left to the collector.
    /// </summary>
    public async Task<float[]> FetchStateAsync(IReadOnlyList<StateRangeHandle> ranges, int stateLength, CancellationToken cancellationToken = default)
    {
        var parts = await Task.WhenAll(ranges.Select(r => FetchAsync(r.Handle, r.Handle.Length, cancellationToken)));
        var state = _buffers.Rent(stateLength);
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i].CopyTo(state.AsSpan(ranges[i].Start));
            _buffers.Return(parts[i]);
        }
        return state;
    }
}
