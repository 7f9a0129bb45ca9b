using Akka.Actor;
using Distributed.Observability.Telemetry;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Model.GradientHealth;
using Distributed.Protocol;
using Distributed.Tests.Support;

namespace Distributed.Tests.Operations;

/// <summary>How the live state reacts to what the coordinator and parameter server report, without a real run.</summary>
public sealed class RunTelemetryTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly RunDescription Run = new("resnet-8", "synthetic", 2, 32, 1, 10, null);
    private static readonly LiveLayer[] Layers = [new("conv1.weight", 0, 2), new("layer1.0.conv1.weight", 2, 2), new("fc.weight", 4, 2)];

    public RunTelemetryTests() : base(AkkaTestConfig.WithProtocolSerialization()) { }

    [Fact]
    public void A_nan_loss_raises_a_warning_in_the_log_and_on_the_dashboard_once_not_every_step()
    {
        var logged = new List<string>();
        var telemetry = new RunTelemetry(Run, Layers, logged.Add);

        for (var step = 0; step < 10; step++) telemetry.OnStep(new StepCompleted(step, 0, 32, double.NaN, 0.1, 0.1, double.NaN, 50, 2, 100));

        var warning = Assert.Single(logged);
        Assert.Contains("step 0: loss is NaN", warning);
        Assert.Equal("nan", Assert.Single(telemetry.Snapshot().Warnings).Kind);
        Assert.True(double.IsNaN(telemetry.Snapshot().Figures.Loss!.Value), "a diverged loss shows as NaN, not as 'no value'");
    }

    [Fact]
    public void A_layer_whose_gradient_vanished_is_named_in_a_warning_and_the_heatmap_keeps_its_log_norm()
    {
        var logged = new List<string>();
        var telemetry = new RunTelemetry(Run, Layers, logged.Add);
        float[] gradient = [1e-9f, 0, 0.3f, 0.4f, 3f, 4f];
        float[] before = [1, 1, 1, 1, 1, 1];
        float[] after = [1, 1, 0.99f, 0.99f, 0.9f, 0.9f];
        var shard = new ShardHealth(32, [new LayerActivity("stem.relu", 0.5, 0.25, 0.25)], [0.9, 0.7, 0.5]);

        telemetry.OnHealth(new HealthSample(10, 0, before, after, gradient, [shard], 0.1));

        var snapshot = telemetry.Snapshot();
        Assert.Contains(logged, w => w.Contains("layer conv1.weight gradient vanishing", StringComparison.Ordinal));
        Assert.Contains(logged, w => w.Contains("first/last layer gradient ratio", StringComparison.Ordinal));
        Assert.All(snapshot.Warnings, w => Assert.Equal("vanishing", w.Kind));
        Assert.Equal([10L], snapshot.Heatmap.Steps);
        Assert.Equal(-9, snapshot.Heatmap.Log10GradientNorms[0][0], 1);
        Assert.Equal(Math.Log10(5), snapshot.Heatmap.Log10GradientNorms[0][2], 6);
        var health = snapshot.Health!;
        Assert.Equal(0.25, health.DeadFraction);
        Assert.Equal([0.9, 0.7, 0.5], health.ShatteringAutocorrelation);
    }

    [Fact]
    public void The_coordinators_per_worker_figures_reach_the_snapshot_under_the_names_the_dashboard_reads()
    {
        var telemetry = new RunTelemetry(Run, Layers);
        telemetry.OnStatus(new TrainingStatus("training", 5, 0, 100,
        [
            new WorkerStatus("worker-0", WorkerState.Live, 10, 5, 0, SpeculativeCopies: 4, SpeculativeWins: 3, ShardTimes: new ShardTimeSummary(10, 40, 50, 60, 70)),
            new WorkerStatus("worker-1", WorkerState.Live, 2, 15, 0, AbandonedShards: 8),
        ], 1.0, 100));

        var workers = telemetry.Snapshot().Workers.ToDictionary(w => w.Name);
        Assert.Equal((4, 3, 0), (workers["worker-0"].SpeculativeCopies, workers["worker-0"].SpeculativeWins, workers["worker-0"].AbandonedShards));
        Assert.Equal(new ShardTimeSummary(10, 40, 50, 60, 70), workers["worker-0"].ShardTimes);
        Assert.Equal(8, workers["worker-1"].AbandonedShards);
        Assert.Null(workers["worker-1"].ShardTimes);

        var json = System.Text.Json.JsonSerializer.Serialize(telemetry.Snapshot(), TelemetrySnapshot.Json);
        foreach (var field in new[] { "\"speculativeCopies\":4", "\"speculativeWins\":3", "\"abandonedShards\":8", "\"shardTimes\":{\"count\":10,\"p50\":40,\"p90\":50,\"p99\":60,\"max\":70}" })
            Assert.Contains(field, json);
        var page = File.ReadAllText(Path.Combine(Distributed.Tests.Cluster.BuildOutput.RepositoryRoot, "src", "Observability", "Telemetry", "Dashboard", "dashboard.html"));
        foreach (var read in new[] { "w.speculativeCopies", "w.speculativeWins", "w.abandonedShards", "w.shardTimes?.p50", "w.shardTimes?.p90", "w.shardTimes?.p99", "w.shardTimes?.max" })
            Assert.Contains(read, page);
    }

    [Fact]
    public void The_step_breakdown_adds_up_to_the_step_and_the_slower_worker_gets_the_higher_straggler_score()
    {
        var telemetry = new RunTelemetry(Run, Layers);
        var timings = new StepTimings(0, 0, 1000, ShardsDoneMilliseconds: 90, AppliedMilliseconds: 100, AggregationMilliseconds: 3, OptimizerMilliseconds: 4,
        [
            new ShardTiming(0, "fast", 16, SentMilliseconds: 1, ReceivedMilliseconds: 41, ComputeMilliseconds: 30, HealthMilliseconds: 0, Attempts: 1),
            new ShardTiming(1, "slow", 16, SentMilliseconds: 2, ReceivedMilliseconds: 90, ComputeMilliseconds: 70, HealthMilliseconds: 5, Attempts: 1),
        ]);

        var b = RunTelemetry.Breakdown(timings);
        telemetry.OnTimings(timings);

        Assert.Equal(100, b.Compute + b.Transfer + b.Wait + b.Aggregation + b.Optimizer + b.Health + b.Other, 9);
        Assert.Equal(50, b.Compute, 9);
        Assert.Equal(24.5, b.Wait, 9);  // (90 − 41 + 0) / 2
        Assert.Equal(11.5, b.Transfer, 9); // ((40 − 30) + (88 − 75)) / 2
        var workers = telemetry.Snapshot().Workers.ToDictionary(w => w.Name);
        Assert.True(workers["slow"].StragglerScore > 1 && workers["fast"].StragglerScore < 1);
        Assert.Equal(1, workers["slow"].SlowestFraction);
    }

    [Fact]
    public async Task The_parameter_server_returns_the_averaged_gradient_and_its_timings_only_when_asked()
    {
        var server = Sys.ActorOf(ParameterServerGroup.Props(new ParameterServerSetup(
            [10f, 20f, 0f], ParameterCount: 2, DecayMask: [0f, 0f], new SgdSettings(0, false, 0))));
        ShardContribution[] shards = [new(0, 3, [1f, 2f, 5f]), new(1, 1, [5f, 6f, 9f])];

        server.Tell(new ApplyStep(0, 1.0, shards));
        var plain = await ExpectMsgAsync<StepApplied>();
        server.Tell(new ApplyStep(1, 1.0, shards, IncludeGradient: true));
        var withGradient = await ExpectMsgAsync<StepApplied>();

        Assert.Null(plain.Gradient);
        Assert.Equal([2f, 3f], withGradient.Gradient!);
        // Two-value buffers can take less than one timer tick: the timings are measured, not necessarily positive.
        Assert.InRange(withGradient.AggregationMilliseconds, 0, 1000);
        Assert.InRange(withGradient.OptimizerMilliseconds, 0, 1000);
    }
}
