using Distributed.Coordinator;

namespace Distributed.Tests.Coordinator;

public sealed class StateNeedTests
{
    [Fact]
    public void Only_epoch_ends_the_last_step_and_the_steps_around_a_health_step_need_the_values()
    {
        // 10 steps a epoch, 25 steps, health every 7 steps: 0, 7, 14, 21.
        var needed = Enumerable.Range(0, 25).Where(s => StateNeed.AfterStep(s, 25, 10, 7, stale: false)).ToArray();
        Assert.Equal([0, 6, 7, 9, 13, 14, 19, 20, 21, 24], needed);
    }

    [Fact]
    public void Without_health_steps_a_long_epoch_needs_the_values_once()
    {
        Assert.Equal([99], Enumerable.Range(0, 100).Where(s => StateNeed.AfterStep(s, 100, 100, 0, stale: false)));
    }

    [Fact]
    public void Bounded_staleness_needs_the_values_every_step()
    {
        Assert.All(Enumerable.Range(0, 30), s => Assert.True(StateNeed.AfterStep(s, 30, 100, 0, stale: true)));
    }

    [Fact]
    public void An_epoch_without_steps_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => StateNeed.AfterStep(0, 10, 0, 0, stale: false));
    }
}
