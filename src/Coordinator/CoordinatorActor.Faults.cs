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
        if (DropFailedCopy(shard)) return;
        if (shard.Result is not null || shard.Abandoned || !Equals(shard.Assignee, Sender)) return;
        worker.HeldVersion = message.HeldVersion;
        worker.Answered();
        Assign(shard, worker);
    }

    private void HandleWorkFailed(WorkFailed message)
    {
        // Every request is answered once, whatever its round: a failure of a finished round (a skipped backlog
        // request) still ends what the worker owed, so it is counted before the round is looked up.
        if (_roster.TryGet(Sender, out var worker)) worker.Answered();
        NoteLateOriginal(message.Round, message.Shard, finished: false);
        if (_book.Find(message.Round, message.Shard) is not { } shard || DropFailedCopy(shard) || shard.Result is not null || shard.Abandoned
            || !Equals(shard.Assignee, Sender))
        {
            // The answer freed the worker (bounded staleness gives work to free workers only).
            Dispatch();
            return;
        }
        Reassign(shard, $"its worker failed: {message.Reason}");
    }

    private void HandleShardDeadline(ShardDeadline message)
    {
        if (_book.Find(message.Round, message.Shard) is not { } shard) return;
        if (shard.Result is not null || shard.Abandoned || shard.Attempts != message.Attempt) return;
        if (shard.Assignee is { } late && _roster.TryGet(late, out var worker))
        {
            worker.MissedDeadline();
            PublishStatus();
        }
        Reassign(shard, $"it missed its {_plan.ShardTimeout.TotalSeconds:0.###} s deadline");
    }

    private void Reassign(RoundBook<IActorRef>.ShardTask shard, string reason)
    {
        if (LetGo(shard, reason)) return;
        if (shard.Attempts >= _plan.MaxShardAttempts)
        {
            Fail($"shard {shard.Index} of step {shard.Round.Step} was given to workers {shard.Attempts} times without a result " +
                $"(--max-shard-attempts {_plan.MaxShardAttempts}); last: {reason}");
            return;
        }
        _reassignedShards++;
        if (Stale && shard.Round.Kind == WorkKind.Train)
        {
            // Under bounded staleness shards go to free workers only (a busy worker would queue it behind its own),
            // and the oldest step's shards go first: the next free worker takes it.
            shard.Orphan();
            Notify($"step {shard.Round.Step} shard {shard.Index} reassigned because {reason}; it goes to the next free worker");
            Dispatch();
            return;
        }
        var target = _roster.ReassignmentTarget(shard.Assignee, shard.NonFiniteFrom);
        Notify($"step {shard.Round.Step} shard {shard.Index} reassigned because {reason}" + (target is null ? "; waiting for a worker" : $"; now on {target.Name}"));
        if (target is null)
        {
            shard.Orphan();
            return;
        }
        Assign(shard, target);
    }

    private void AssignOrphanedShards()
    {
        if (Stale && _book.Current is not { Kind: WorkKind.Evaluate })
        {
            Dispatch();
            return;
        }
        if (_book.Current is not { } round) return;
        foreach (var shard in round.Orphans.ToList())
        {
            if (_roster.ReassignmentTarget(null) is not { } target) return;
            Assign(shard, target);
        }
    }

    /// <summary>The parameter server found NaN or infinity in these shards' gradients or statistics: each is computed again elsewhere.</summary>
    private void HandleContributionsRefused(ContributionsRefused refused)
    {
        if (_book.Current is not { Kind: WorkKind.Train } round || refused.Step != round.Step) return;
        foreach (var index in refused.Shards.Where(i => i >= 0 && i < round.Shards.Length).Distinct())
        {
            var shard = round.Shards[index];
            if (shard.CompletedByWorker is not { } worker) continue;
            RefuseNonFinite(shard, worker, refused.Reason);
            if (_book.Current is null) return;
        }
    }

    /// <summary>
    /// A server node could not fetch these shards' results from where they were parked (their worker died after the
    /// result was accepted): the step was aborted in every range, and each shard is computed again by a live worker;
    /// when the last one is in, the step goes to the parameter server again. The samples are counted only when a step
    /// is applied, so the ledger stays exactly-once.
    /// </summary>
    private void HandleContributionsLost(ContributionsLost lost)
    {
        if (_book.Current is not { Kind: WorkKind.Train } round || lost.Step != round.Step) return;
        foreach (var index in lost.Shards.Where(i => i >= 0 && i < round.Shards.Length).Distinct())
        {
            var shard = round.Shards[index];
            if (shard.Result is null) continue;
            shard.Lose();
            Reassign(shard, $"its result could not be read by the parameter server ({lost.Reason})");
            if (_book.Current is null) return;
        }
    }

    /// <summary>
    /// A result with NaN or infinity never counts. The shard goes to another worker; a worker that does it
    /// repeatedly is taken out of rotation. When every worker asked gives non-finite values for the same shard, the
    /// model itself has diverged: the run stops, and the parameter server still holds the last good weights.
    /// </summary>
    private void RefuseNonFinite(RoundBook<IActorRef>.ShardTask shard, IActorRef from, string reason)
    {
        var round = shard.Round;
        _refusedContributions++;
        shard.RefuseNonFinite(from);
        var name = _roster.TryGet(from, out var worker) ? worker.Name : "a departed worker";
        Notify($"step {round.Step} shard {shard.Index}: refused the result of {name}, it holds non-finite values ({reason})");
        if (worker is not null && worker.ReturnedNonFinite(_plan.MaxNonFiniteResults))
        {
            Notify($"worker {worker.Name} is taken out of rotation: it returned non-finite values {worker.NonFiniteResults} times");
            PublishStatus();
        }
        var assignable = _roster.Assignable();
        if (assignable.Count > 0 && assignable.All(w => shard.NonFiniteFrom.Contains(w.Worker)))
        {
            Fail($"the model diverged at step {round.Step}: every worker that computed shard {shard.Index} returned non-finite values; the last good weights are kept");
            return;
        }
        Reassign(shard, $"{name} returned non-finite values");
    }
}
