using Distributed.Coordinator;

namespace Distributed.Tests.Coordinator;

public sealed class StaleStatisticsTests
{
    /// <summary>
    /// A shard of step t on version v returns m·S_v + (1 − m)·b; moved onto S_t it is m·S_t + (1 − m)·b, what a shard
    /// computed on version t with the same batch statistics returns: the running average does not restart from S_v.
    /// </summary>
    [Fact]
    public void Stale_running_statistics_are_moved_onto_the_newest_version_keeping_only_the_batch_statistics_stale()
    {
        float[] then = [0f, 1f, 2f];
        float[] now = [0.5f, 1.5f, 4f];
        float[] batch = [3f, 2f, 1f];
        var returned = then.Zip(batch, (s, b) => StaleStatistics.Keep * s + (1 - StaleStatistics.Keep) * b).ToArray();

        StaleStatistics.Rebase(returned, now, then);

        var expected = now.Zip(batch, (s, b) => StaleStatistics.Keep * s + (1 - StaleStatistics.Keep) * b).ToArray();
        Assert.Equal(expected, returned, (a, b) => Math.Abs(a - b) < 1e-6f);
    }

    [Fact]
    public void Statistics_of_the_newest_version_are_left_as_they_are_and_lengths_must_agree()
    {
        float[] state = [0.25f, -3f];
        float[] returned = [1.125f, 7f];
        StaleStatistics.Rebase(returned, state, state);
        Assert.Equal([1.125f, 7f], returned);
        Assert.Throws<ArgumentException>(() => StaleStatistics.Rebase(new float[2], new float[3], new float[2]));
    }
}
