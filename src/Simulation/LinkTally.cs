namespace Distributed.Simulation;

/// <summary>What each node's link carried over a stretch of simulated time (one step): bytes and busy seconds, each way.</summary>
public sealed record LinkTally(long[] Sent, long[] Received, double[] SendBusySeconds, double[] ReceiveBusySeconds)
{
    /// <summary>Bytes a node moved, both ways.</summary>
    public long Bytes(int node) => Sent[node] + Received[node];

    /// <summary>
    /// The busiest link: the node whose busier direction was occupied longest (with one bandwidth for all, also the
    /// one that moved the most bytes one way). Ties go to the lowest node id, so the coordinator is named first.
    /// </summary>
    public int Busiest()
    {
        var best = 0;
        for (var node = 1; node < Sent.Length; node++)
            if (BusySeconds(node) > BusySeconds(best)) best = node;
        return best;
    }

    public double BusySeconds(int node) => Math.Max(SendBusySeconds[node], ReceiveBusySeconds[node]);
}
