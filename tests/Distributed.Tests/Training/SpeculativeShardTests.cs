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
/// Real workers in one process, one of them slowed by a fault plan: idle workers compute copies of its shards, the
/// copies' results count, and the weights are those of the same run without copies.
/// </summary>
public sealed class SpeculativeShardTests : Akka.TestKit.Xunit2.TestKit
{
    public SpeculativeShardTests(ITestOutputHelper output) : base(AkkaTestConfig.WithProtocolSerialization(), output: output) { }

    /// <summary>
    /// Bit identity needs the same shards each step: both runs have three workers (the same split) and the same
    /// slow worker; only who computes a shard differs, and a shard's result depends on its samples and the
    /// weights, not on the replica (one libtorch thread each). 20× slow makes the straggler's shard run hundreds
    /// of milliseconds past the fast ones' tens, well past the policy's 50 ms floor, so copies start and win
    /// on a loaded machine too.
    /// </summary>
    [Fact]
    public async Task Copies_of_a_slow_workers_shards_win_and_the_weights_are_bit_identical_to_a_run_without_copies()
    {
        var faults = FaultPlanParser.ParseByWorker(["worker-1:slow=20x"], ["worker-0", "worker-1", "worker-2"]);

        var speculative = await TrainAsync(speculate: true, faults);
        var plain = await TrainAsync(speculate: false, faults);

        var copies = speculative.Workers.Sum(w => w.SpeculativeCopies);
        var wins = speculative.Workers.Sum(w => w.SpeculativeWins);
        Output?.WriteLine($"speculative copies: {copies}, won: {wins}; per worker: " +
            string.Join(", ", speculative.Workers.Select(w => $"{w.Name} {w.ShardsCompleted} shards, {w.SpeculativeCopies} copies, {w.SpeculativeWins} won")));
        Assert.True(wins > 0, $"no speculative copy won ({copies} started)");
        Assert.InRange(wins, 1, copies);
        Assert.All(plain.Workers, w => Assert.Equal(0, w.SpeculativeCopies));
        BitExact.Equal(plain.Finished!.State, speculative.Finished!.State, "weights with speculative copies vs without");
        foreach (var outcome in new[] { speculative, plain })
        {
            Assert.Equal(Steps, outcome.Finished!.Steps);
            Assert.Equal(new SampleTally(Steps * Batch, 0, 0), outcome.Finished.Samples);
        }
    }

    /// <summary>
    /// On a health step every shard runs a probe after its step, and a copy is the same request, so it probes too
    /// and cannot finish first: none is sent there, however far the straggler runs past (every step probed here).
    /// </summary>
    [Fact]
    public async Task No_copy_starts_on_a_health_step()
    {
        var faults = FaultPlanParser.ParseByWorker(["worker-1:slow=20x"], ["worker-0", "worker-1", "worker-2"]);

        var outcome = await TrainAsync(speculate: true, faults, healthEvery: 1);

        Assert.All(outcome.Workers, w => Assert.Equal(0, w.SpeculativeCopies));
        Assert.Equal(Steps, outcome.Finished!.Steps);
    }

    private const int Steps = 10;
    private const int Batch = 48;

    private async Task<TrainingOutcome> TrainAsync(bool speculate, IReadOnlyDictionary<string, FaultPlan> faults, int healthEvery = 0)
    {
        var job = new TrainingJob(
            new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
            new DataSpec("synthetic", null, 0, false, TrainLimit: 5 * Batch, TestLimit: 10),
            new TrainingPlan(Epochs: 2, GlobalBatch: Batch, Seed: 3, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0),
                MinimumWorkers: 3, ShardTimeout: TimeSpan.FromMinutes(2), MaxSteps: Steps, EvaluateEachEpoch: false, HealthEvery: healthEvery) { Speculate = speculate },
            new SgdSettings(0.9, true, 5e-4), Workers: 3, ThreadsPerWorker: 1, OutputDirectory: null);
        var outcome = await TrainingRun.RunAsync(Sys, job, new RecordingObserver(), InProcessWorkers.Of(job, faults), CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failed?.Reason);
        return outcome;
    }
}
