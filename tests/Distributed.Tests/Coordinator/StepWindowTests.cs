using Distributed.Coordinator;

namespace Distributed.Tests.Coordinator;

public sealed class StepWindowTests
{
    private const long Total = 100;
    private const int PerEpoch = 10;

    [Fact]
    public void Synchronous_mode_opens_only_the_oldest_unapplied_step()
    {
        var window = new StepWindow(0);
        Assert.True(window.MayOpen(3, applied: 3, Total, PerEpoch));
        Assert.False(window.MayOpen(4, applied: 3, Total, PerEpoch));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void At_most_s_plus_one_steps_are_open_at_once(int staleness)
    {
        var window = new StepWindow(staleness);
        const long applied = 20;
        var open = Enumerable.Range(0, 2 * staleness + 5).Select(i => applied + i).TakeWhile(step => window.MayOpen(step, applied, Total, PerEpoch)).ToList();
        Assert.Equal(staleness + 1, open.Count);
        Assert.Equal(applied + staleness, open[^1]);
    }

    [Fact]
    public void The_window_stops_at_the_epoch_end_and_the_run_end_and_never_reopens_an_applied_step()
    {
        var window = new StepWindow(4);
        Assert.True(window.MayOpen(9, applied: 8, Total, PerEpoch));
        Assert.False(window.MayOpen(10, applied: 8, Total, PerEpoch));
        Assert.True(window.MayOpen(10, applied: 10, Total, PerEpoch));
        Assert.False(window.MayOpen(12, applied: 11, totalSteps: 12, PerEpoch));
        Assert.False(window.MayOpen(7, applied: 8, Total, PerEpoch));
    }

    [Fact]
    public void A_result_counts_when_its_weights_are_at_most_s_versions_older_than_its_step_and_exist()
    {
        var window = new StepWindow(2);
        Assert.True(window.Admits(step: 10, version: 10, newestVersion: 10, versionOffset: 0));
        Assert.True(window.Admits(step: 10, version: 8, newestVersion: 10, versionOffset: 0));
        Assert.False(window.Admits(step: 10, version: 7, newestVersion: 10, versionOffset: 0));
        Assert.False(window.Admits(step: 10, version: 11, newestVersion: 10, versionOffset: 0));
        Assert.False(window.Admits(step: 10, version: 11, newestVersion: 11, versionOffset: 0));
        // A resumed run whose versions run 5 ahead of its steps.
        Assert.True(window.Admits(step: 10, version: 13, newestVersion: 15, versionOffset: 5));
        Assert.Equal(2, StepWindow.StalenessOf(10, 13, 5));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(StepWindow.MaxStaleness + 1)]
    public void A_bound_out_of_range_is_refused(int staleness) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepWindow(staleness));
}
