using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Training;
using Distributed.Training.Workers;
using Distributed.Worker.Faults;
using Xunit.Abstractions;

namespace Distributed.Tests.Training;

/// <summary>
/// Real workers in one process, one of them slowed by a fault plan, under bounded staleness (<c>--staleness s</c>):
/// the fast workers keep computing later steps' shards instead of waiting for the straggler, no applied gradient is
/// more than s versions stale, steps apply in order, each sample of each epoch exactly once, and the net still learns.
/// s = 0 is synchronous mode, bit for bit.
/// </summary>
public sealed class BoundedStalenessTests : Akka.TestKit.Xunit2.TestKit
{
    public BoundedStalenessTests(ITestOutputHelper output) : base(AkkaTestConfig.WithProtocolSerialization(), output: output) { }

    private const int Epochs = 4;
    private const int StepsPerEpoch = 5;
    private const int Batch = 48;

    [Fact]
    public async Task Staleness_zero_gives_the_weights_of_a_plan_that_does_not_mention_it()
    {
        var faults = FaultPlanParser.ParseByWorker(["worker-1:slow=3x"], ["worker-0", "worker-1", "worker-2"]);
        var unmentioned = await TrainAsync(plan => plan, faults, new RecordingObserver(), epochs: 2);
        var zero = await TrainAsync(plan => plan with { Staleness = 0 }, faults, new RecordingObserver(), epochs: 2);

        BitExact.Equal(unmentioned.Finished!.State, zero.Finished!.State, "weights with --staleness 0 vs without the flag");
        Assert.All(zero.Workers, w => Assert.Equal(0, w.Staleness!.Max));
    }

    /// <summary>
    /// 10× slow makes the straggler's shard take many fast shards' time, so with s = 2 the fast workers always find a
    /// later step's shard to take while it computes.
    /// </summary>
    [Fact]
    public async Task With_a_slow_worker_the_fast_ones_compute_later_steps_within_the_bound_in_order_exactly_once_and_the_loss_falls()
    {
        const int staleness = 2;
        var faults = FaultPlanParser.ParseByWorker(["worker-1:slow=10x"], ["worker-0", "worker-1", "worker-2"]);
        var observer = new RecordingObserver();

        var outcome = await TrainAsync(plan => plan with { Staleness = staleness }, faults, observer, Epochs);

        var workers = outcome.Workers.ToDictionary(w => w.Name);
        Output?.WriteLine(string.Join(", ", outcome.Workers.Select(w =>
            $"{w.Name} {w.ShardsCompleted} shards, staleness mean {w.Staleness!.Mean:0.00} max {w.Staleness.Max}")));
        Output?.WriteLine("step max staleness: " + string.Join(" ", observer.Steps.Select(s => s.MaxStaleness)));
        Output?.WriteLine("epoch train loss: " + string.Join(" ", observer.Epochs.Select(e => e.TrainLoss.ToString("0.0000"))));

        Assert.Equal(Enumerable.Range(0, Epochs * StepsPerEpoch).Select(i => (long)i), observer.Steps.Select(s => s.Step));
        Assert.All(observer.Steps, s => Assert.InRange(s.MaxStaleness, 0, staleness));
        Assert.Contains(observer.Steps, s => s.MaxStaleness > 0);
        Assert.All(outcome.Workers, w => Assert.InRange(w.Staleness!.Max, 0, staleness));
        Assert.True(workers["worker-0"].ShardsCompleted > workers["worker-1"].ShardsCompleted, "worker-0 did not outpace the slow worker");
        Assert.True(workers["worker-2"].ShardsCompleted > workers["worker-1"].ShardsCompleted, "worker-2 did not outpace the slow worker");
        Assert.Equal(Epochs * StepsPerEpoch * 3, outcome.Workers.Sum(w => w.ShardsCompleted));

        Assert.Equal(new SampleTally(Epochs * StepsPerEpoch * Batch, 0, 0), outcome.Finished!.Samples);
        Assert.Equal(Epochs, observer.Epochs.Count);
        Assert.All(observer.Epochs, e => Assert.Equal(new SampleTally(StepsPerEpoch * Batch, 0, 0), e.Samples));
        // Each epoch's evaluation came after all its steps: its weights are the epoch's final ones.
        Assert.All(observer.Epochs, e => Assert.True(double.IsFinite(e.TestAccuracy), $"epoch {e.Epoch} was not evaluated"));
        Assert.All(observer.Epochs, e => Assert.Equal((e.Epoch + 1) * StepsPerEpoch, e.Step));
        Assert.True(observer.Epochs[^1].TrainLoss < observer.Epochs[0].TrainLoss,
            $"training loss did not fall: {observer.Epochs[0].TrainLoss:0.0000} → {observer.Epochs[^1].TrainLoss:0.0000}");
    }

    private async Task<TrainingOutcome> TrainAsync(Func<TrainingPlan, TrainingPlan> adjust, IReadOnlyDictionary<string, FaultPlan> faults,
        RecordingObserver observer, int epochs)
    {
        var plan = new TrainingPlan(Epochs: epochs, GlobalBatch: Batch, Seed: 3, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0),
            MinimumWorkers: 3, ShardTimeout: TimeSpan.FromMinutes(2), EvaluateEachEpoch: true);
        var job = new TrainingJob(
            new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
            new DataSpec("synthetic", null, 0, false, TrainLimit: StepsPerEpoch * Batch, TestLimit: Batch),
            adjust(plan), new SgdSettings(0.9, true, 5e-4), Workers: 3, ThreadsPerWorker: 1, OutputDirectory: null);
        var outcome = await TrainingRun.RunAsync(Sys, job, observer, InProcessWorkers.Of(job, faults), CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failed?.Reason);
        Assert.Equal(epochs * StepsPerEpoch, outcome.Finished!.Steps);
        return outcome;
    }
}
