namespace Distributed.Simulation;

/// <summary>
/// Every node's network link: full duplex, <see cref="BytesPerSecond"/> each way, <see cref="LatencySeconds"/>
/// one way. A transfer from a to b holds a's sending side and b's receiving side for bytes / bandwidth, starting
/// when both are free (first come, first served: transfers are booked in the order they are asked for), and lands
/// one latency after its last byte left. So N workers sending to one node queue on that node's link, which is the
/// effect the simulation exists to show. Bytes and busy time are counted per node until <see cref="TakeTally"/>.
/// </summary>
public sealed class LinkModel
{
    private readonly double[] _sendFree;
    private readonly double[] _receiveFree;
    private readonly long[] _sent;
    private readonly long[] _received;
    private readonly double[] _sendBusy;
    private readonly double[] _receiveBusy;

    public LinkModel(int nodes, double bytesPerSecond, double latencySeconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 1);
        if (!(bytesPerSecond > 0)) throw new ArgumentOutOfRangeException(nameof(bytesPerSecond), bytesPerSecond, "must be positive");
        if (!(latencySeconds >= 0)) throw new ArgumentOutOfRangeException(nameof(latencySeconds), latencySeconds, "must be zero or positive");
        BytesPerSecond = bytesPerSecond;
        LatencySeconds = latencySeconds;
        _sendFree = new double[nodes];
        _receiveFree = new double[nodes];
        _sent = new long[nodes];
        _received = new long[nodes];
        _sendBusy = new double[nodes];
        _receiveBusy = new double[nodes];
    }

    public int Nodes => _sent.Length;
    public double BytesPerSecond { get; }
    public double LatencySeconds { get; }

    /// <summary>Books a transfer asked for at <paramref name="at"/> seconds; returns when its last byte arrives.</summary>
    public double Transfer(int from, int to, long bytes, double at)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (from == to) return at;
        var start = Math.Max(at, Math.Max(_sendFree[from], _receiveFree[to]));
        var seconds = bytes / BytesPerSecond;
        var end = start + seconds;
        _sendFree[from] = end;
        _receiveFree[to] = end;
        _sent[from] += bytes;
        _received[to] += bytes;
        _sendBusy[from] += seconds;
        _receiveBusy[to] += seconds;
        return end + LatencySeconds;
    }

    /// <summary>Bytes and busy seconds per node since the last tally, and starts counting afresh.</summary>
    public LinkTally TakeTally()
    {
        var tally = new LinkTally((long[])_sent.Clone(), (long[])_received.Clone(), (double[])_sendBusy.Clone(), (double[])_receiveBusy.Clone());
        Array.Clear(_sent);
        Array.Clear(_received);
        Array.Clear(_sendBusy);
        Array.Clear(_receiveBusy);
        return tally;
    }
}
