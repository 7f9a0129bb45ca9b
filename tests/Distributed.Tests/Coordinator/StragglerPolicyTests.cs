using Distributed.Coordinator;

namespace Distributed.Tests.Coordinator;

public sealed class StragglerPolicyTests
{
    private const string A = "a", B = "b", C = "c", D = "d";

    private static StragglerPolicy<string> WithHistory(params double[][] steps)
    {
        var policy = new StragglerPolicy<string>();
        foreach (var step in steps) policy.StepFinished(step);
        return policy;
    }

    private static StragglerPolicy<string>.Running Running(int shard, string worker, double elapsed, bool hasCopy = false) => new(shard, worker, elapsed, hasCopy);

    [Fact]
    public void A_shard_running_well_past_its_peers_gets_one_copy_on_an_idle_worker()
    {
        var policy = WithHistory([200, 210, 190], [205, 195, 200]);

        var copies = policy.Choose([200, 205], [Running(2, C, 700)], [A, B]);

        Assert.Equal([new StragglerPolicy<string>.Copy(2, A)], copies);
    }

    [Fact]
    public void The_threshold_is_k_times_the_median_when_that_is_the_largest_term()
    {
        var policy = new StragglerPolicy<string>(factor: 1.5);
        policy.StepFinished([200, 200, 200, 200]);

        // median 200, MAD 0, floor 50: max(1.5 × 200, 200 + 0, 200 + 50) = 300.
        Assert.Equal(300, policy.Threshold([])!.Value, 9);
        Assert.Empty(policy.Choose([], [Running(0, C, 299)], [A]));
        Assert.Single(policy.Choose([], [Running(0, C, 301)], [A]));
    }

    [Fact]
    public void Tiny_shards_need_the_floor_before_jitter_counts_as_straggling()
    {
        var policy = WithHistory([2, 2, 2], [2, 3, 2]);

        // median 2 ms: 1.5 × median is 3 ms, but a shard must run 50 ms past the median.
        Assert.Equal(52, policy.Threshold([])!.Value, 9);
        Assert.Empty(policy.Choose([], [Running(0, C, 40)], [A]));
        Assert.Single(policy.Choose([], [Running(0, C, 60)], [A]));
    }

    [Fact]
    public void Noisy_shard_times_widen_the_threshold_with_their_spread()
    {
        var policy = WithHistory([100, 300, 200, 400, 150, 350, 250]);

        // median 250, MAD 100 (σ ≈ 148): 250 + 3 × 148.26 = 694.78 beats 1.5 × 250 = 375.
        Assert.Equal(250 + 3 * 1.4826 * 100, policy.Threshold([])!.Value, 6);
        Assert.Empty(policy.Choose([], [Running(0, C, 600)], [A]));
    }

    [Fact]
    public void Nothing_is_judged_until_three_shard_times_are_known()
    {
        var policy = new StragglerPolicy<string>();
        policy.StepFinished([100]);

        Assert.Null(policy.Threshold([100]));
        Assert.Empty(policy.Choose([100], [Running(1, C, 10_000)], [A]));
        Assert.NotNull(policy.Threshold([100, 100]));
        Assert.Single(policy.Choose([100, 100], [Running(1, C, 10_000)], [A]));
    }

    [Fact]
    public void A_shard_that_already_has_a_copy_gets_no_second_one()
    {
        var policy = WithHistory([100, 100, 100]);

        Assert.Empty(policy.Choose([], [Running(0, C, 5_000, hasCopy: true)], [A, B]));
    }

    [Fact]
    public void A_copy_never_goes_to_the_shards_own_worker_and_waits_when_no_other_worker_is_idle()
    {
        var policy = WithHistory([100, 100, 100]);

        Assert.Empty(policy.Choose([], [Running(0, A, 5_000)], [A]));
        Assert.Equal([new StragglerPolicy<string>.Copy(0, B)], policy.Choose([], [Running(0, A, 5_000)], [A, B]));
    }

    [Fact]
    public void Several_stragglers_get_one_idle_worker_each_the_longest_running_first()
    {
        var policy = WithHistory([100, 100, 100, 100]);
        var running = new[] { Running(3, C, 400), Running(1, D, 900), Running(2, C, 150) };

        var copies = policy.Choose([], running, [A]);

        Assert.Equal([new StragglerPolicy<string>.Copy(1, A)], copies);
        Assert.Equal([new StragglerPolicy<string>.Copy(1, A), new StragglerPolicy<string>.Copy(3, B)], policy.Choose([], running, [A, B]));
    }

    [Fact]
    public void The_distribution_forgets_steps_older_than_its_window()
    {
        var policy = new StragglerPolicy<string>(windowSteps: 2);
        policy.StepFinished([1000, 1000, 1000]);
        policy.StepFinished([100, 100, 100]);
        policy.StepFinished([100, 100, 100]);

        Assert.Equal(150, policy.Threshold([])!.Value, 9);
    }

    private static StragglerPolicy<string> WithEvidence(params double[] originals)
    {
        var policy = WithHistory([100, 100, 100, 100]);
        foreach (var time in originals) policy.OriginalFinished(time);
        return policy;
    }

    [Fact]
    public void Jitter_that_ends_soon_after_the_threshold_raises_it_above_the_jitter()
    {
        // Equal workers: most shards take one median, a few run to 1.6–2.2 medians and then finish on their own.
        // A copy started at 1.5 medians would finish near 2.5 and lose every time.
        var jitter = Enumerable.Repeat(100.0, 40).Concat([160, 180, 200, 220]).ToArray();
        var policy = WithEvidence(jitter);

        Assert.Equal(2.2, policy.EvidenceFactor(), 9);
        Assert.Empty(policy.Choose([], [Running(0, C, 210)], [A]));
        // Past all of the jitter a copy still starts: a worker that turns slow is not ignored.
        Assert.Single(policy.Choose([], [Running(0, C, 230)], [A]));
    }

    [Fact]
    public void A_slow_workers_shards_keep_the_configured_factor()
    {
        // One worker of three at 3×: of the shards past 1.5 medians, all ran past 2.5, where a copy would have finished.
        var originals = Enumerable.Range(0, 30).SelectMany(_ => new[] { 100.0, 100.0, 300.0 }).Concat([160, 180]).ToArray();
        var policy = WithEvidence(originals);

        Assert.Equal(StragglerPolicy<string>.DefaultFactor, policy.EvidenceFactor(), 9);
        Assert.Single(policy.Choose([], [Running(0, C, 160)], [A]));
    }

    [Fact]
    public void A_worker_that_turns_slow_after_jitter_brings_the_factor_back_down_within_a_few_steps()
    {
        var policy = WithEvidence(Enumerable.Repeat(100.0, 40).Concat([160, 180, 200, 220]).ToArray());
        Assert.True(policy.EvidenceFactor() > 2);

        // Four steps of three shards with one of them 4× slow (its late original results, as the coordinator reports them).
        for (var step = 0; step < 4; step++)
            foreach (var time in new[] { 100.0, 100.0, 400.0 }) policy.OriginalFinished(time);

        Assert.Equal(StragglerPolicy<string>.DefaultFactor, policy.EvidenceFactor(), 9);
    }

    [Fact]
    public void Evidence_is_only_the_recent_shards_and_waits_for_a_distribution()
    {
        var empty = new StragglerPolicy<string>();
        empty.OriginalFinished(10_000);
        empty.StepFinished([100, 100, 100]);
        // Reported before there was a median: not counted, so the factor is the configured one.
        Assert.Equal(StragglerPolicy<string>.DefaultFactor, empty.EvidenceFactor(), 9);

        var policy = WithEvidence([160, 170, 180, 190]);
        Assert.True(policy.EvidenceFactor() > StragglerPolicy<string>.DefaultFactor);
        for (var i = 0; i < StragglerPolicy<string>.EvidenceShards; i++) policy.OriginalFinished(100);
        Assert.Equal(StragglerPolicy<string>.DefaultFactor, policy.EvidenceFactor(), 9);
    }

    [Fact]
    public void The_late_original_of_a_shard_a_copy_won_is_what_the_evidence_records()
    {
        // Jitter has raised the factor; then a worker turns 4× slow and copies win its shards. The copies finish at
        // about 2.5 medians, so only the originals' late results show how slow the worker is.
        var policy = WithEvidence(Enumerable.Repeat(100.0, 40).Concat([160, 180, 200, 220]).ToArray());
        for (var round = 1L; round <= 4; round++)
        {
            policy.CopyWon(round, 2, C, sentAt: 1000 * round);
            var factor = policy.EvidenceFactor();
            policy.Answered(round, 2, A, now: 1000 * round + 400, finished: true);   // not the original: ignored
            policy.Answered(round, 1, C, now: 1000 * round + 400, finished: true);   // another shard: ignored
            Assert.Equal(factor, policy.EvidenceFactor(), 9);
            if (round == 1) Assert.True(factor > 2);
            policy.Answered(round, 2, C, now: 1000 * round + 400, finished: true);
            policy.Answered(round, 2, C, now: 1000 * round + 900, finished: true);   // counted once
        }

        // 4 late originals at 4 medians against 4 jitter shards: copies at 1.5 medians win half the time.
        Assert.Equal(StragglerPolicy<string>.DefaultFactor, policy.EvidenceFactor(), 9);
    }

    [Fact]
    public void A_failed_or_never_coming_original_adds_no_evidence()
    {
        var policy = WithEvidence(Enumerable.Repeat(100.0, 40).Concat([160, 180, 200, 220]).ToArray());
        var before = policy.EvidenceFactor();

        policy.CopyWon(1, 0, C, sentAt: 0);
        policy.Answered(1, 0, C, now: 5000, finished: false);
        policy.Answered(1, 0, C, now: 6000, finished: true);   // the wait ended with the failure
        policy.CopyWon(2, 0, D, sentAt: 0);
        policy.CopyWon(2 + StragglerPolicy<string>.LateOriginalRounds + 1, 0, A, sentAt: 0);
        policy.Answered(2, 0, D, now: 5000, finished: true);   // given up: too many rounds ago

        Assert.Equal(before, policy.EvidenceFactor(), 9);
    }

    [Fact]
    public void Settings_that_would_copy_every_shard_or_never_judge_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StragglerPolicy<string>(windowSteps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StragglerPolicy<string>(factor: 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StragglerPolicy<string>(spread: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StragglerPolicy<string>(floorMilliseconds: -1));
    }
}
