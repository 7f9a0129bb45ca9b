using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Distributed.Simulation;

namespace Distributed.Tests.Simulation;

public sealed class VirtualSchedulerTests
{
    private static VirtualScheduler NewScheduler() => new(Config.Empty, NoLogger.Instance);

    [Fact]
    public void Events_run_in_time_order_and_the_clock_jumps_to_each()
    {
        var clock = NewScheduler();
        var seen = new List<(string, TimeSpan)>();
        clock.ScheduleOnce(TimeSpan.FromSeconds(3), () => seen.Add(("c", clock.Elapsed)));
        clock.ScheduleOnce(TimeSpan.FromSeconds(1), () => seen.Add(("a", clock.Elapsed)));
        clock.ScheduleOnce(TimeSpan.FromSeconds(1), () => seen.Add(("b", clock.Elapsed)));

        while (clock.RunNext()) { }

        Assert.Equal([("a", TimeSpan.FromSeconds(1)), ("b", TimeSpan.FromSeconds(1)), ("c", TimeSpan.FromSeconds(3))], seen);
    }

    [Fact]
    public void A_cancelled_event_never_runs_and_an_event_scheduled_by_an_event_counts_from_then()
    {
        var clock = NewScheduler();
        var seen = new List<string>();
        var cancelable = new Cancelable((IScheduler)clock);
        clock.ScheduleOnce(TimeSpan.FromSeconds(1), () => seen.Add("cancelled"), cancelable);
        clock.ScheduleOnce(TimeSpan.FromSeconds(2), () => clock.ScheduleOnce(TimeSpan.FromSeconds(5), () => seen.Add($"late at {clock.Elapsed.TotalSeconds}")));
        cancelable.Cancel();

        while (clock.RunNext()) { }

        Assert.Equal(["late at 7"], seen);
        Assert.False(clock.RunNext());
    }

    [Fact]
    public void A_repeating_event_repeats_until_cancelled()
    {
        var clock = NewScheduler();
        var cancelable = new Cancelable((IScheduler)clock);
        var times = new List<double>();
        clock.ScheduleRepeatedly(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), () =>
        {
            times.Add(clock.Elapsed.TotalSeconds);
            if (times.Count == 3) cancelable.Cancel();
        }, cancelable);

        while (clock.RunNext()) { }

        Assert.Equal([1.0, 3.0, 5.0], times);
    }
}
