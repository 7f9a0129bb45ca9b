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
/// Real workers in one process, one of them slowed 20× by a fault plan. With one backup worker the steps go ahead
/// with the two fast shards: the slow worker's shards are abandoned and their samples skipped, visibly, and every
/// planned sample is either applied or skipped. Without backup workers the slow worker changes nothing: the weights
/// are bit-identical to the same run without the fault.
/// </summary>
public sealed class BackupWorkerTests : Akka.TestKit.Xunit2.TestKit
{
    private const int Steps = 8;
    private const int Batch = 48;
    private const int ShardSamples = Batch / 3;

    public BackupWorkerTests(ITestOutputHelper output) : base(AkkaTestConfig.WithProtocolSerialization(), output: output) { }

    private static readonly IReadOnlyDictionary<string, FaultPlan> SlowWorker =
        FaultPlanParser.ParseByWorker(["worker-1:slow=20x"], ["worker-0", "worker-1", "worker-2"]);

    [Fact]
    public async Task With_one_backup_worker_steps_go_ahead_without_the_slow_workers_shards_and_their_samples_are_skipped()
    {
        var observer = new RecordingObserver();
        var outcome = await TrainAsync(backupWorkers: 1, SlowWorker, observer);
        Output?.WriteLine(string.Join(", ", outcome.Workers.Select(w =>
            $"{w.Name} {w.ShardsCompleted} shards, {w.AbandonedShards} abandoned, times {w.ShardTimes}")));

        var samples = outcome.Finished!.Samples!;
        var abandoned = outcome.Workers.Sum(w => w.AbandonedShards);
        Assert.Equal(Steps, outcome.Finished.Steps);
        // One shard of three per step: with b = 1 exactly one is left out of each step, whichever it is.
        Assert.Equal(Steps, abandoned);
        Assert.Equal(abandoned * ShardSamples, samples.Skipped);
        Assert.Equal(Steps * Batch, samples.Applied + samples.Skipped);
        Assert.True(samples.IsClean, $"ledger {samples}");
        // The slow worker is the one left out: it never holds up a step (its 20x shards are the late ones).
        var slow = outcome.Workers.Single(w => w.Name == "worker-1");
        Assert.True(slow.AbandonedShards > 0, "the slow worker's shards were never abandoned");
        Assert.True(slow.ShardsCompleted < Steps, $"the slow worker delivered {slow.ShardsCompleted} of {Steps} shards: steps waited for it");
        // Each step applied two shards of 16, and said so.
        Assert.All(observer.Steps, s => Assert.Equal(2 * ShardSamples, s.Samples));
        Assert.Equal(samples.Skipped, observer.Steps.Sum(s => (long)s.SkippedSamples));
        Assert.All(outcome.Workers.Where(w => w.Name != "worker-1"), w => Assert.True(w.ShardTimes is { Count: > 0 }, $"{w.Name} has no shard times"));
    }

    [Fact]
    public async Task Without_backup_workers_a_slow_worker_changes_nothing_the_weights_are_bit_identical()
    {
        var slowed = await TrainAsync(backupWorkers: 0, SlowWorker, new RecordingObserver());
        var plain = await TrainAsync(backupWorkers: 0, new Dictionary<string, FaultPlan>(), new RecordingObserver());

        BitExact.Equal(plain.Finished!.State, slowed.Finished!.State, "weights with a 20x slow worker vs without, b = 0");
        foreach (var outcome in new[] { slowed, plain })
        {
            Assert.Equal(new SampleTally(Steps * Batch, 0, 0, 0), outcome.Finished!.Samples);
            Assert.All(outcome.Workers, w => Assert.Equal(0, w.AbandonedShards));
        }
    }

    private async Task<TrainingOutcome> TrainAsync(int backupWorkers, IReadOnlyDictionary<string, FaultPlan> faults, ITrainingObserver observer)
    {
        var job = new TrainingJob(
            new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
            new DataSpec("synthetic", null, 0, false, TrainLimit: 5 * Batch, TestLimit: 10),
            new TrainingPlan(Epochs: 2, GlobalBatch: Batch, Seed: 3, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0),
                MinimumWorkers: 3, ShardTimeout: TimeSpan.FromMinutes(2), MaxSteps: Steps, EvaluateEachEpoch: false)
            { Speculate = false, BackupWorkers = backupWorkers },
            new SgdSettings(0.9, true, 5e-4), Workers: 3, ThreadsPerWorker: 1, OutputDirectory: null);
        var outcome = await TrainingRun.RunAsync(Sys, job, observer, InProcessWorkers.Of(job, faults), CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failed?.Reason);
        return outcome;
    }
}
