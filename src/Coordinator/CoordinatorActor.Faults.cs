using Akka.Actor;
using Distributed.Protocol;

namespace Distributed.Coordinator;

// The coordinator's fault handling: a worker that lacks weights, fails a shard or misses its deadline loses the
// shard to another worker; a shard nobody can take waits for the next worker to join.
public sealed partial class CoordinatorActor
{
    private void HandleWeightsMissing(WeightsMissing message)
    {
        if (_book.Find(message.Round, message.Shard) is not { } shard || !_roster.TryGet(Sender, out var worker)) return;
        if (shard.Result is not null || !Equals(shard.Assignee, Sender)) return;
        worker.HeldVersion = message.HeldVersion;
        worker.Answered();
        Assign(shard, worker);
    }

    private void HandleWorkFailed(WorkFailed message)
    {
        if (_book.Find(message.Round, message.Shard) is not { } shard) return;
        if (shard.Result is not null || !Equals(shard.Assignee, Sender)) return;
        if (_roster.TryGet(Sender, out var worker)) worker.Answered();
        if (shard.Attempts >= 3 * Math.Max(1, _roster.Count))
        {
            Fail($"shard {shard.Index} of step {_book.Current!.Step} failed on every attempt; last error: {message.Reason}");
            return;
        }
        Reassign(shard, $"its worker failed: {message.Reason}");
    }

    private void HandleShardDeadline(ShardDeadline message)
    {
        if (_book.Find(message.Round, message.Shard) is not { } shard) return;
        if (shard.Result is not null || shard.Attempts != message.Attempt) return;
        if (shard.Assignee is { } late && _roster.TryGet(late, out var worker))
        {
            worker.MissedDeadline();
            PublishStatus();
        }
        Reassign(shard, $"it missed its {_plan.ShardTimeout.TotalSeconds:0.###} s deadline");
    }

    private void Reassign(RoundBook<IActorRef>.ShardTask shard, string reason)
    {
        _reassignedShards++;
        var target = _roster.ReassignmentTarget(shard.Assignee);
        Notify($"step {_book.Current!.Step} shard {shard.Index} reassigned because {reason}" + (target is null ? "; waiting for a worker" : $"; now on {target.Name}"));
        if (target is null)
        {
            shard.Orphan();
            return;
        }
        Assign(shard, target);
    }

    private void AssignOrphanedShards()
    {
        if (_book.Current is not { } round) return;
        foreach (var shard in round.Orphans.ToList())
        {
            if (_roster.ReassignmentTarget(null) is not { } target) return;
            Assign(shard, target);
        }
    }
}
