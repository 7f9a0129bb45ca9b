using MessagePack;

namespace Distributed.Protocol;

// What crosses the wire between a coordinator node and a worker node. Tensors never ride on Akka.Remote: the
// sender parks the float array in its node's tensor channel and the message carries a handle; the receiver pulls
// the bytes over a separate TCP connection. In one process none of this is used and arrays pass by reference.

/// <summary>
/// Where to fetch one float array: the owning node's tensor channel endpoint and a one-time id. <see cref="Length"/>
/// counts the floats on the wire. <see cref="Encoding"/> says how a result buffer's gradient was packed: with 16-bit
/// compression two gradient values share each wire float and the running statistics follow as plain floats.
/// </summary>
[MessagePackObject]
public sealed record TensorHandle(
    [property: Key(0)] string Host,
    [property: Key(1)] int Port,
    [property: Key(2)] long Id,
    [property: Key(3)] int Length,
    [property: Key(4)] GradientCompression Encoding = GradientCompression.None);

/// <summary>
/// One range of a flat weights state, served by the server node that owns it: elements [<see cref="Start"/>,
/// <see cref="Start"/> + <see cref="TensorHandle.Length"/>) of the state are the whole tensor <see cref="Handle"/> names.
/// </summary>
[MessagePackObject]
public sealed record StateRangeHandle(
    [property: Key(0)] int Start,
    [property: Key(1)] TensorHandle Handle);

/// <summary>
/// A <see cref="WorkRequest"/> whose weights (if any) wait in the coordinator node's tensor channel (<see cref="State"/>)
/// or, with range servers on server nodes, in the server nodes' channels, one range each (<see cref="StateRanges"/>,
/// which tile the state; the worker node fetches them all and assembles the state).
/// <see cref="ResultReaders"/> is how many fetches the worker node serves its result buffer to: 1 when the coordinator's
/// node fetches it, K when K range servers on server nodes each fetch their range of it straight from the worker.
/// </summary>
[MessagePackObject]
public sealed record RemoteWorkRequest(
    [property: Key(0)] WorkRequest Request,
    [property: Key(1)] TensorHandle? State,
    [property: Key(2)] int ResultReaders = 1,
    [property: Key(3)] StateRangeHandle[]? StateRanges = null) : IProtocolMessage;

/// <summary>Most readers a worker node serves one result to (the most range servers a run can have).</summary>
public static class ResultReaderLimits
{
    public const int Max = 64;
}

/// <summary>A <see cref="WorkCompleted"/> whose gradient buffer (if any) waits in the worker node's tensor channel.</summary>
[MessagePackObject]
public sealed record RemoteWorkCompleted(
    [property: Key(0)] WorkCompleted Result,
    [property: Key(1)] TensorHandle? Buffer) : IProtocolMessage;
