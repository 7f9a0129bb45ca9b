using Distributed.Simulation;

namespace Distributed.Tests.Simulation;

public sealed class ShardTimeModelTests
{
    [Fact]
    public void Without_jitter_or_slowdowns_a_shard_takes_samples_times_the_workers_time_per_sample()
    {
        var model = new ShardTimeModel(0.002, jitterSigma: 0, slowdownFactor: 1, slowdownProbability: 0, seed: 1);

        Assert.Equal(32 * 0.002, model.NextShardSeconds(32), 12);
        Assert.Equal(32 * 0.002, model.NextShardSeconds(32), 12);
    }

    [Fact]
    public void Slowdowns_multiply_the_shards_they_hit_and_are_counted()
    {
        var always = new ShardTimeModel(0.001, 0, slowdownFactor: 4, slowdownProbability: 1, seed: 1);
        Assert.Equal(4 * 10 * 0.001, always.NextShardSeconds(10), 12);
        Assert.Equal(1, always.Slowdowns);

        var sometimes = new ShardTimeModel(0.001, 0, slowdownFactor: 4, slowdownProbability: 0.1, seed: 7);
        var times = Enumerable.Range(0, 10_000).Select(_ => sometimes.NextShardSeconds(10)).ToArray();
        Assert.All(times, t => Assert.True(Math.Abs(t - 0.01) < 1e-12 || Math.Abs(t - 0.04) < 1e-12, $"{t}"));
        // About 1 000 of 10 000 with P = 0.1 (a fixed seed: this is one draw, not a flaky statistic).
        Assert.InRange(sometimes.Slowdowns, 900, 1100);
        Assert.Equal(sometimes.Slowdowns, times.Count(t => t > 0.02));
    }

    [Fact]
    public void Jitter_is_lognormal_around_the_workers_time_with_the_given_sigma()
    {
        var model = new ShardTimeModel(0.001, jitterSigma: 0.2, 1, 0, seed: 3);
        var logs = Enumerable.Range(0, 20_000).Select(_ => Math.Log(model.NextShardSeconds(1) / 0.001)).ToArray();

        var mean = logs.Average();
        var sd = Math.Sqrt(logs.Average(l => (l - mean) * (l - mean)));
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(sd, 0.19, 0.21);
    }

    [Fact]
    public void A_seed_gives_the_same_shard_times_and_workers_draw_differently()
    {
        double[] Draw(int seed)
        {
            var model = new ShardTimeModel(0.001, 0.3, 3, 0.2, seed);
            return Enumerable.Range(0, 50).Select(_ => model.NextShardSeconds(8)).ToArray();
        }

        Assert.Equal(Draw(ShardTimeModel.SeedFor(5, 0)), Draw(ShardTimeModel.SeedFor(5, 0)));
        Assert.NotEqual(Draw(ShardTimeModel.SeedFor(5, 0)), Draw(ShardTimeModel.SeedFor(5, 1)));
        Assert.NotEqual(Draw(ShardTimeModel.SeedFor(5, 0)), Draw(ShardTimeModel.SeedFor(6, 0)));
    }

    [Theory]
    [InlineData(-0.1, 1, 0, "jitterSigma")]
    [InlineData(0, 0.5, 0, "slowdownFactor")]
    [InlineData(0, 2, 1.5, "slowdownProbability")]
    public void Values_out_of_range_are_refused(double sigma, double factor, double probability, string parameter)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new ShardTimeModel(0.001, sigma, factor, probability, 1));
        Assert.Equal(parameter, error.ParamName);
    }
}
