using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Tests.Coordinator;

public sealed class WorkerRosterTests
{
    [Fact]
    public void A_repeated_registration_is_ignored()
    {
        var roster = new WorkerRoster<string>();
        Assert.True(roster.Register("a", "worker-a"));
        Assert.False(roster.Register("a", "worker-a"));
        Assert.Equal(1, roster.Count);
    }

    [Fact]
    public void Only_live_workers_get_work_while_any_is_live_and_unreachable_ones_only_when_none_is()
    {
        var roster = Roster(("b", WorkerState.Live), ("a", WorkerState.Unreachable), ("c", WorkerState.Joining), ("d", WorkerState.Rejected));
        Assert.Equal(["b"], roster.Assignable().Select(w => w.Worker));

        roster.TryGet("b", out var b);
        b.MissedDeadline();
        Assert.Equal(["a", "b"], roster.Assignable().Select(w => w.Worker));
    }

    [Fact]
    public void A_lost_shard_goes_to_the_least_loaded_other_worker_or_back_to_its_worker_when_it_is_alone()
    {
        var roster = Roster(("a", WorkerState.Live), ("b", WorkerState.Live), ("c", WorkerState.Live));
        roster.TryGet("b", out var b);
        b.Sent();
        b.Sent();
        roster.TryGet("c", out var c);
        c.Sent();
        Assert.Equal("c", roster.ReassignmentTarget("a")!.Worker);

        var alone = Roster(("a", WorkerState.Live));
        Assert.Equal("a", alone.ReassignmentTarget("a")!.Worker);
        Assert.Null(Roster(("a", WorkerState.Rejected)).ReassignmentTarget("a"));
    }

    [Fact]
    public void A_departed_worker_is_listed_as_gone_with_its_shards_and_a_rejoining_one_keeps_its_count()
    {
        var roster = Roster(("a", WorkerState.Live));
        roster.TryGet("a", out var a);
        a.Delivered(10);
        a.Delivered(30);
        Assert.True(roster.Remove("a", out _));
        Assert.Equal(0, roster.Count);
        var gone = Assert.Single(roster.Status());
        Assert.Equal((WorkerState.Gone, 2, 20.0), (gone.State, gone.ShardsCompleted, gone.MeanShardMilliseconds));

        Assert.True(roster.Register("a-again", "worker-a"));
        roster.TryGet("a-again", out var again);
        again.Delivered(20);
        var back = Assert.Single(roster.Status());
        Assert.Equal((WorkerState.Joining, 3, 20.0), (back.State, back.ShardsCompleted, back.MeanShardMilliseconds));
    }

    [Fact]
    public void Outstanding_work_never_goes_below_zero()
    {
        var roster = Roster(("a", WorkerState.Live));
        roster.TryGet("a", out var a);
        a.Answered();
        a.Sent();
        Assert.Equal(1, a.Outstanding);
    }

    private static WorkerRoster<string> Roster(params (string Worker, WorkerState State)[] workers)
    {
        var roster = new WorkerRoster<string>();
        foreach (var (worker, state) in workers)
        {
            roster.Register(worker, $"worker-{worker}");
            roster.TryGet(worker, out var entry);
            entry.State = state;
        }
        return roster;
    }
}
