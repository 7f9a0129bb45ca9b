using Distributed.Simulation;

namespace Distributed.Tests.Simulation;

/// <summary>The real coordinator and parameter server on the simulated clock, checked against arithmetic done by hand.</summary>
public sealed class ClusterSimulationTests
{
    // 8 Gbit/s = 1e9 bytes/s: a 4 MB model takes 4 ms on a link.
    private static SimulationOptions Options(int workers, int servers, TransferPath path) => new(
        workers, servers, Steps: 3, ModelBytes: 4_000_000, GlobalBatch: 16, ComputeMillisecondsPerSample: 1, BandwidthGbps: 8,
        LatencyMicroseconds: 0, SpeedSpread: 0, path, ServerGigabytesPerSecond: 4, ShardTimeoutSeconds: 30);

    [Fact]
    public void A_coordinator_path_step_takes_the_pipeline_time_worked_out_by_hand()
    {
        // 4 workers, 4 samples each. The coordinator's link sends weights one after another (worker i has them at
        // (i+1)·4 ms), each computes 4 ms, the gradients arrive back to back on its link (the last at 5·4 + 4 = 24 ms),
        // and the server averages 4 shards × 4 MB at 4 GB/s (4 ms): 28 ms. Shard and result messages add under 1 µs; the clock counts in 0.1 µs ticks.
        var result = ClusterSimulation.Run(Options(4, 1, TransferPath.Coordinator));

        Assert.Equal(3, result.Steps.Count);
        Assert.All(result.Steps, s => Assert.InRange(s.StepMilliseconds, 27.99, 28.01));
        Assert.All(result.Steps, s => Assert.Equal("coordinator", s.BusiestLink));
    }

    [Fact]
    public void The_simulated_links_carry_the_bytes_the_traffic_plan_predicts()
    {
        var coordinatorPath = ClusterSimulation.Run(Options(4, 1, TransferPath.Coordinator));
        var direct = ClusterSimulation.Run(Options(4, 2, TransferPath.Direct));

        // The plan counts weights and gradients; the simulation adds the real shard and result messages (a few hundred bytes).
        var planned = coordinatorPath.Plan.BytesPerStep()[TrafficPlan.CoordinatorNode];
        Assert.All(coordinatorPath.Steps, s => Assert.InRange(s.CoordinatorBytes, planned, planned + 4_000));
        var perServer = direct.Plan.BytesPerStep()[direct.Plan.ServerNode(0)];
        Assert.All(direct.Steps, s => Assert.Equal(perServer, s.MaxServerBytes));
        Assert.All(direct.Steps, s => Assert.InRange(s.CoordinatorBytes, 1, 4_000));
        Assert.All(direct.Steps, s => Assert.InRange(s.MeanWorkerBytes, 2 * 4_000_000, 2 * 4_000_000 + 1_000));
    }

    [Fact]
    public void A_straggler_loses_its_shard_when_its_deadline_passes_on_the_simulated_clock()
    {
        // One sample each at 10 ms, speeds spread over [1, 10]: workers slower than 5x miss a 50 ms deadline.
        var options = Options(4, 1, TransferPath.Coordinator) with
        {
            GlobalBatch = 4, ComputeMillisecondsPerSample = 10, SpeedSpread = 9, ShardTimeoutSeconds = 0.05, ModelBytes = 4_000,
        };
        Assert.Contains(options.SpeedFactors(), f => f * 10 > 60);

        var result = ClusterSimulation.Run(options);

        Assert.Equal(3, result.Steps.Count);
        Assert.True(result.ReassignedShards > 0, "no shard was reassigned");
        // The reassigning step waited for the deadline, in simulated time.
        Assert.Contains(result.Steps, s => s.StepMilliseconds >= 50);
    }

    [Fact]
    public void A_thousand_and_twenty_four_workers_and_sixty_four_servers_run_their_steps()
    {
        var options = Options(1024, 64, TransferPath.Direct) with { GlobalBatch = 8192, Steps = 2 };

        var result = ClusterSimulation.Run(options);

        Assert.Equal(2, result.Steps.Count);
        var perServer = result.Plan.BytesPerStep().Skip(1).Take(64).Max();
        Assert.All(result.Steps, s => Assert.Equal(perServer, s.MaxServerBytes));
        Assert.StartsWith("server-", result.Steps[^1].BusiestLink);
    }

    [Theory]
    [InlineData(0, 1, "--workers 0")]
    [InlineData(1025, 1, "--workers 1025")]
    [InlineData(8, 65, "--ps-shards 65")]
    public void Options_out_of_range_name_the_flag(int workers, int servers, string flag)
    {
        var options = Options(workers, servers, TransferPath.Direct) with { GlobalBatch = 2048 };

        Assert.StartsWith(flag, options.Validate());
    }

    [Fact]
    public void Several_servers_on_the_coordinator_path_or_fewer_samples_than_workers_are_refused()
    {
        Assert.Contains("--path direct", Options(8, 2, TransferPath.Coordinator).Validate());
        Assert.StartsWith("--global-batch 16", Options(32, 1, TransferPath.Coordinator).Validate());
        Assert.Null(Options(8, 2, TransferPath.Direct).Validate());
    }
}
