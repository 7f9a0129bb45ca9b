using Distributed.ParameterServer;
using Distributed.Simulation;

namespace Distributed.Tests.Simulation;

public sealed class TrafficPlanTests
{
    private const long Model = 1_000_000; // 250,000 floats

    [Fact]
    public void The_coordinator_path_moves_two_N_P_through_the_coordinator_and_two_P_per_worker()
    {
        var plan = new TrafficPlan(workers: 8, servers: 1, Model, TransferPath.Coordinator);
        var bytes = plan.BytesPerStep();

        Assert.Equal(1 + 8, plan.Nodes);
        Assert.Equal(2 * 8 * Model, bytes[TrafficPlan.CoordinatorNode]);
        Assert.All(Enumerable.Range(0, 8), w => Assert.Equal(2 * Model, bytes[plan.WorkerNode(w)]));
        Assert.Equal(TrafficPlan.CoordinatorNode, plan.ServerNode(0));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(64)]
    public void The_direct_path_cuts_the_state_into_K_balanced_slices_on_16_float_boundaries(int servers)
    {
        var plan = new TrafficPlan(workers: 4, servers, Model, TransferPath.Direct);
        var slices = plan.SliceBytes;

        Assert.Equal(Model, slices.Sum());
        Assert.All(slices.Take(servers - 1), s => Assert.Equal(0, s % (TrafficPlan.AlignmentFloats * sizeof(float))));
        Assert.True(slices.Max() - slices.Min() <= TrafficPlan.AlignmentFloats * sizeof(float), $"slices {string.Join(", ", slices)} differ by more than one block");
    }

    [Fact]
    public void The_direct_path_moves_two_N_P_over_K_per_server_and_nothing_through_the_coordinator()
    {
        const int workers = 16;
        var plan = new TrafficPlan(workers, servers: 4, Model, TransferPath.Direct);
        var bytes = plan.BytesPerStep();

        Assert.Equal(1 + 4 + workers, plan.Nodes);
        Assert.Equal(0, bytes[TrafficPlan.CoordinatorNode]);
        Assert.All(Enumerable.Range(0, 4), s => Assert.Equal(2 * workers * plan.SliceBytes[s], bytes[plan.ServerNode(s)]));
        Assert.All(Enumerable.Range(0, 4), s => Assert.InRange(bytes[plan.ServerNode(s)], 2 * workers * Model / 4 - 2 * workers * 64, 2 * workers * Model / 4 + 2 * workers * 64));
        Assert.All(Enumerable.Range(0, workers), w => Assert.Equal(2 * Model, bytes[plan.WorkerNode(w)]));
    }

    [Fact]
    public void Nodes_are_named_coordinator_servers_then_workers()
    {
        var plan = new TrafficPlan(workers: 2, servers: 2, Model, TransferPath.Direct);

        Assert.Equal(["coordinator", "server-1", "server-2", "worker-1", "worker-2"], Enumerable.Range(0, plan.Nodes).Select(plan.NodeName));
    }

    [Fact]
    public void More_than_one_server_on_the_coordinator_path_or_a_model_too_small_for_K_is_refused()
    {
        Assert.Contains("direct path", Assert.Throws<ArgumentException>(() => new TrafficPlan(4, 2, Model, TransferPath.Coordinator)).Message);
        Assert.Contains("too small", Assert.Throws<ArgumentException>(() => new TrafficPlan(4, 64, 64 * 15 * sizeof(float), TransferPath.Direct)).Message);
        Assert.Contains("whole number of floats", Assert.Throws<ArgumentException>(() => new TrafficPlan(4, 1, 1001, TransferPath.Coordinator)).Message);
    }

    [Theory]
    [InlineData(272_474, 1)]
    [InlineData(272_474, 3)]
    [InlineData(272_474, 64)]
    [InlineData(1_000, 7)]
    [InlineData(16 * 64, 64)]
    public void The_modeled_slices_are_the_real_servers_ranges(int floats, int servers)
    {
        var real = StateRanges.Split(floats, servers).Select(r => (long)r.Length).ToArray();

        Assert.Equal(real, TrafficPlan.SliceFloats(floats, servers));
    }
}
