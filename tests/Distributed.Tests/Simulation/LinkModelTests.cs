using Distributed.Simulation;

namespace Distributed.Tests.Simulation;

public sealed class LinkModelTests
{
    [Fact]
    public void Transfers_into_one_node_queue_on_its_link_first_come_first_served()
    {
        // 1 MB/s, 1 ms latency: three nodes each send node 0 1000 bytes (1 ms on the wire) at t = 0.
        var links = new LinkModel(nodes: 4, bytesPerSecond: 1e6, latencySeconds: 1e-3);

        var arrivals = new[] { 1, 2, 3 }.Select(from => links.Transfer(from, 0, 1000, at: 0)).ToArray();

        Assert.Equal([0.002, 0.003, 0.004], arrivals.Select(a => Math.Round(a, 9)));
        var tally = links.TakeTally();
        Assert.Equal(3000, tally.Received[0]);
        Assert.Equal(0, tally.Busiest());
        Assert.Equal(0.003, tally.BusySeconds(0), 9);
    }

    [Fact]
    public void A_link_is_full_duplex_and_a_transfer_waits_for_both_ends()
    {
        var links = new LinkModel(nodes: 3, bytesPerSecond: 1e6, latencySeconds: 0);

        Assert.Equal(0.001, links.Transfer(0, 1, 1000, at: 0), 9);
        // Node 1 sends while it receives: the other direction is free.
        Assert.Equal(0.001, links.Transfer(1, 0, 1000, at: 0), 9);
        // Node 2 → node 1 must wait for node 1's receiving side, busy until 1 ms.
        Assert.Equal(0.002, links.Transfer(2, 1, 1000, at: 0), 9);
    }

    [Fact]
    public void A_tally_counts_one_step_and_starts_afresh()
    {
        var links = new LinkModel(nodes: 2, bytesPerSecond: 1e6, latencySeconds: 0);
        links.Transfer(0, 1, 500, at: 0);

        Assert.Equal(500, links.TakeTally().Bytes(0));
        Assert.Equal(0, links.TakeTally().Bytes(0));
    }
}
