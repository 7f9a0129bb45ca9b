using Distributed.Cluster.Transport;
using Distributed.Protocol;

namespace Distributed.Tests.Cluster;

/// <summary>What a worker node checks before it fetches the ranges of a state from server nodes (direct pull).</summary>
public sealed class StateRangesCheckTests
{
    private static readonly Func<string, bool> Servers = host => host is "10.0.0.5" or "10.0.0.6";

    private static StateRangeHandle Range(int start, int count, string host = "10.0.0.5") => new(start, new TensorHandle(host, 4054, start + 1, count));

    [Fact]
    public void Ranges_from_server_nodes_that_tile_the_state_in_order_may_be_fetched()
    {
        Assert.Null(TensorHandleCheck.StateRangesProblem([Range(0, 60), Range(60, 40, "10.0.0.6")], Servers, 100));
        Assert.Null(TensorHandleCheck.StateRangesProblem([Range(0, 100)], Servers, 100));
    }

    [Fact]
    public void A_range_served_by_a_host_that_is_no_server_node_is_refused()
    {
        var problem = TensorHandleCheck.StateRangesProblem([Range(0, 60), Range(60, 40, "10.0.0.9")], Servers, 100);
        Assert.Contains("10.0.0.9:4054, which is no server node", problem);
    }

    [Theory]
    [InlineData(0, 60, 50, 50, "does not follow [0, 60)")]   // overlap
    [InlineData(0, 60, 70, 30, "does not follow [0, 60)")]   // gap
    [InlineData(0, 60, 60, 0, "does not follow [0, 60)")]    // empty range
    [InlineData(0, 60, 60, 50, "reach 110 values")]          // past the end
    [InlineData(0, 60, 60, 30, "cover [0, 90)")]             // short
    [InlineData(10, 60, 70, 30, "does not follow [0, 0)")]   // not from 0
    public void Ranges_that_do_not_tile_the_state_exactly_are_refused(int start0, int count0, int start1, int count1, string expected)
    {
        var problem = TensorHandleCheck.StateRangesProblem([Range(start0, count0), Range(start1, count1)], Servers, 100);
        Assert.Contains(expected, problem);
    }

    [Fact]
    public void Ranges_out_of_order_none_too_many_or_before_the_model_is_known_are_refused()
    {
        Assert.Contains("does not follow", TensorHandleCheck.StateRangesProblem([Range(60, 40), Range(0, 60)], Servers, 100));
        Assert.Contains("0 state ranges", TensorHandleCheck.StateRangesProblem([], Servers, 100));
        var many = Enumerable.Range(0, ResultReaderLimits.Max + 1).Select(i => Range(i, 1)).ToArray();
        Assert.Contains($"{ResultReaderLimits.Max + 1} state ranges", TensorHandleCheck.StateRangesProblem(many, Servers, many.Length));
        Assert.Contains("before this node knew", TensorHandleCheck.StateRangesProblem([Range(0, 100)], Servers, null));
    }
}
