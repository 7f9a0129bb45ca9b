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

    [Fact]
    public void Settings_that_would_copy_every_shard_or_never_judge_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StragglerPolicy<string>(windowSteps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StragglerPolicy<string>(factor: 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StragglerPolicy<string>(spread: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StragglerPolicy<string>(floorMilliseconds: -1));
    }
}
