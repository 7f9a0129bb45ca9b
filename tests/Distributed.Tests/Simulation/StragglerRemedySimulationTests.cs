using Distributed.Simulation;

namespace Distributed.Tests.Simulation;

/// <summary>
/// The straggler remedies of `distributed simulate` reach the real coordinator, and the simulated workers treat
/// copies and abandoned shards as a real worker does. Every time compared here is simulated, so deterministic.
/// </summary>
public sealed class StragglerRemedySimulationTests
{
    // 8 workers, 4 samples each at 10 ms: 40 ms shards; a tiny model, so the links hardly matter.
    private static SimulationOptions Options(int workers = 8, int steps = 20) => new(
        workers, 1, steps, ModelBytes: 4_000, GlobalBatch: 4 * workers, ComputeMillisecondsPerSample: 10, BandwidthGbps: 8,
        LatencyMicroseconds: 50, SpeedSpread: 0, TransferPath.Coordinator, ServerGigabytesPerSecond: 4, ShardTimeoutSeconds: 30);

    [Fact]
    public void With_backup_workers_each_step_goes_ahead_without_the_last_shards_and_the_ledger_counts_their_samples_as_skipped()
    {
        var synchronous = ClusterSimulation.Run(Options() with { JitterSigma = 0.2 });
        var backup = ClusterSimulation.Run(Options() with { JitterSigma = 0.2, BackupWorkers = 2 });

        Assert.All(synchronous.Steps, s => Assert.Equal((32, 0), (s.Samples, s.SkippedSamples)));
        Assert.Equal((0, 0L), (synchronous.AbandonedShards, synchronous.LedgerSkippedSamples));
        // 2 of 8 shards (4 samples each) left out of every step, and the coordinator's own ledger says so.
        Assert.All(backup.Steps, s => Assert.Equal((24, 8), (s.Samples, s.SkippedSamples)));
        Assert.Equal(2 * 20, backup.AbandonedShards);
        Assert.Equal(8 * 20, backup.LedgerSkippedSamples);
    }

    [Fact]
    public void Speculation_copies_the_shards_a_slowdown_hits_and_is_off_with_no_speculate()
    {
        // One shard in twenty is 5x slow (200 ms against 40): well past the policy's threshold of median + 50 ms.
        var slowed = Options(steps: 30) with { SlowdownFactor = 5, SlowdownProbability = 0.05 };

        var speculating = ClusterSimulation.Run(slowed);
        var synchronous = ClusterSimulation.Run(slowed with { Speculate = false });

        Assert.True(speculating.Slowdowns > 0, "no shard was slowed: the test shows nothing");
        Assert.True(speculating.SpeculativeCopies > 0, "the coordinator started no speculative copy");
        Assert.True(speculating.SpeculativeWins > 0, "no copy won");
        Assert.Equal(0, synchronous.SpeculativeCopies);
        // Simulated time: the copies finish before the slowed originals would have.
        Assert.True(speculating.SteadyStepMilliseconds < synchronous.SteadyStepMilliseconds,
            $"{speculating.SteadyStepMilliseconds} ms with speculation, {synchronous.SteadyStepMilliseconds} ms without");
    }

    [Fact]
    public void A_worker_that_falls_rounds_behind_skips_its_stale_requests_as_a_real_worker_does()
    {
        // A slowed shard takes 30 × 40 ms, so with b = 1 the steps go on without it and requests of several later rounds
        // queue behind it; when it is done the worker answers the stale ones with WorkFailed and computes the newest.
        var result = ClusterSimulation.Run(Options(workers: 4, steps: 40) with { BackupWorkers = 1, SlowdownFactor = 30, SlowdownProbability = 0.05 });

        Assert.True(result.Slowdowns > 0, "no shard was slowed: the test shows nothing");
        Assert.True(result.SkippedRequests > 0, "no stale request was skipped");
        Assert.Equal(40, result.Steps.Count);
    }

    [Fact]
    public void Bounded_staleness_lets_steps_overlap_within_the_bound_and_turns_speculation_off()
    {
        var slowed = Options(steps: 30) with { SlowdownFactor = 5, SlowdownProbability = 0.05 };

        var stale = ClusterSimulation.Run(slowed with { Staleness = 2 });
        var synchronous = ClusterSimulation.Run(slowed);

        Assert.Equal(30, stale.Steps.Count);
        Assert.Contains(stale.Steps, s => s.MaxStaleness > 0);
        Assert.All(stale.Steps, s => Assert.InRange(s.MaxStaleness, 0, 2));
        Assert.Equal(0, stale.SpeculativeCopies);
        Assert.All(synchronous.Steps, s => Assert.Equal(0, s.MaxStaleness));
        // Synchronous steps follow each other, so throughput between completions is the one from summed step times;
        // overlapping stale steps complete faster than their step times add up to.
        var summed = synchronous.Steady.Sum(s => (double)s.Samples) / (synchronous.Steady.Sum(s => s.StepMilliseconds) / 1000);
        Assert.Equal(summed, synchronous.SteadyImagesPerSecond, summed * 1e-6);
        var staleSummed = stale.Steady.Sum(s => (double)s.Samples) / (stale.Steady.Sum(s => s.StepMilliseconds) / 1000);
        Assert.True(stale.SteadyImagesPerSecond > staleSummed, $"{stale.SteadyImagesPerSecond} img/s between completions, {staleSummed} from step times");
        Assert.Contains("--staleness 1 cannot be combined with --backup-workers 1", (Options() with { Staleness = 1, BackupWorkers = 1 }).Validate());
    }

    [Fact]
    public void A_seed_gives_the_same_run_and_another_seed_another()
    {
        var options = Options() with { SpeedSpread = 0.3, JitterSigma = 0.2, SlowdownFactor = 4, SlowdownProbability = 0.05, BackupWorkers = 1 };

        var first = ClusterSimulation.Run(options);
        var again = ClusterSimulation.Run(options);
        var other = ClusterSimulation.Run(options with { Seed = 2 });

        Assert.Equal(first.Steps.Select(s => s.StepMilliseconds), again.Steps.Select(s => s.StepMilliseconds));
        Assert.Equal((first.SpeculativeCopies, first.AbandonedShards, first.Slowdowns), (again.SpeculativeCopies, again.AbandonedShards, again.Slowdowns));
        Assert.NotEqual(first.Steps.Select(s => s.StepMilliseconds), other.Steps.Select(s => s.StepMilliseconds));
    }

    [Theory]
    [InlineData(8, "--backup-workers 8 must be at least 0 and less than --workers 8")]
    [InlineData(-1, "--backup-workers -1 must be at least 0")]
    public void Backup_workers_out_of_range_are_refused(int backupWorkers, string message)
    {
        Assert.StartsWith(message, (Options() with { BackupWorkers = backupWorkers }).Validate());
        Assert.Throws<ArgumentException>(() => ClusterSimulation.Run(Options() with { BackupWorkers = backupWorkers }));
    }

    [Fact]
    public void Jitter_and_slowdowns_out_of_range_are_refused()
    {
        Assert.StartsWith("--jitter 2.5 must be a number between 0 and 2", (Options() with { JitterSigma = 2.5 }).Validate());
        Assert.StartsWith("--slowdowns 0.5@0.1: the factor F must be", (Options() with { SlowdownFactor = 0.5, SlowdownProbability = 0.1 }).Validate());
        Assert.StartsWith("--slowdowns 2@1.5: the probability P must be between 0 and 1", (Options() with { SlowdownFactor = 2, SlowdownProbability = 1.5 }).Validate());
        Assert.Null((Options() with { JitterSigma = 0.2, SlowdownFactor = 4, SlowdownProbability = 0.01, BackupWorkers = 7 }).Validate());
    }
}
