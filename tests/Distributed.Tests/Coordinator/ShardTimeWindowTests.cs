using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Tests.Coordinator;

public sealed class ShardTimeWindowTests
{
    [Fact]
    public void An_empty_window_has_no_summary()
    {
        Assert.Null(new ShardTimeWindow().Summary());
    }

    [Fact]
    public void Percentiles_are_nearest_rank_over_the_times_held()
    {
        var window = new ShardTimeWindow(100);
        // 1..100 in a shuffled order: nearest rank p50 = 50, p90 = 90, p99 = 99, max = 100.
        foreach (var t in Enumerable.Range(1, 100).OrderBy(i => (i * 37) % 101)) window.Add(t);
        Assert.Equal(new ShardTimeSummary(100, 50, 90, 99, 100), window.Summary());
    }

    [Fact]
    public void A_single_time_is_every_percentile()
    {
        var window = new ShardTimeWindow();
        window.Add(42.5);
        Assert.Equal(new ShardTimeSummary(1, 42.5, 42.5, 42.5, 42.5), window.Summary());
    }

    [Fact]
    public void The_oldest_times_leave_a_full_window()
    {
        var window = new ShardTimeWindow(4);
        foreach (var t in new double[] { 1000, 900, 10, 20, 30, 40 }) window.Add(t);
        Assert.Equal(4, window.Count);
        Assert.Equal(6, window.Total);
        Assert.Equal(new ShardTimeSummary(4, 20, 40, 40, 40), window.Summary());
    }

    [Fact]
    public void Times_that_are_not_finite_non_negative_numbers_are_ignored()
    {
        var window = new ShardTimeWindow();
        window.Add(double.NaN);
        window.Add(double.PositiveInfinity);
        window.Add(-1);
        Assert.Equal(0, window.Count);
        window.Add(5);
        Assert.Equal(new ShardTimeSummary(1, 5, 5, 5, 5), window.Summary());
    }

    [Fact]
    public void A_rejoined_worker_keeps_its_recent_times_in_order()
    {
        var earlier = new ShardTimeWindow(3);
        foreach (var t in new double[] { 1, 2, 3, 4 }) earlier.Add(t);
        var later = new ShardTimeWindow(3);
        later.Inherit(earlier);
        later.Add(100);
        // Held: 3, 4, 100 (2 left when 100 came, so the inherited order was oldest first).
        Assert.Equal(new ShardTimeSummary(3, 4, 100, 100, 100), later.Summary());
        Assert.Equal(5, later.Total);
    }
}
