using Akka.Actor;
using Akka.Event;
using Distributed.Protocol;

namespace Distributed.Coordinator;

// Backup workers (--backup-workers b): a training step is applied as soon as all but b of its shards are in
// (BackupQuorum decides); the shards still out are abandoned, their late answers discarded like a finished round's,
// and their samples recorded as skipped in the ledger. A shard that loses its worker is not computed again while
// the other shards can still make the quorum. Evaluation rounds always wait for every shard.
public sealed partial class CoordinatorActor
{
    /// <summary>Says when the live workers are too few for b backup workers (steps then wait for every shard), and when that ends.</summary>
    private void WatchBackupQuorum(int shards)
    {
        if (_plan.BackupWorkers == 0) return;
        var tooFew = BackupQuorum.TooFewWorkers(WorkKind.Train, shards, _plan.BackupWorkers);
        if (tooFew == _tooFewForBackup) return;
        _tooFewForBackup = tooFew;
        Notify(tooFew
            ? $"step {_progress.Step}: only {shards} shard(s) for --backup-workers {_plan.BackupWorkers}: steps wait for every shard until more than " +
              $"{_plan.BackupWorkers} workers are live"
            : $"step {_progress.Step}: {shards} shards again: each step is applied with the first {shards - _plan.BackupWorkers} to arrive");
    }

    /// <summary>The quorum is met: the shards still out are abandoned; their deadlines no longer matter.</summary>
    private void AbandonLateShards(RoundBook<IActorRef>.Round round)
    {
        foreach (var shard in round.AbandonRest())
        {
            Timers.Cancel(TimerKey(round.Id, shard.Index));
            if (shard.Assignee is { } holder && _roster.TryGet(holder, out var worker)) worker.ShardAbandoned();
            _log.Debug("Step {0} shard {1} abandoned: the step goes ahead with the first {2} of {3} shards", round.Step, shard.Index,
                round.Quorum.Required, round.Quorum.Shards);
        }
    }

    /// <summary>A shard that lost its worker need not be computed again when the round can make its quorum without it.</summary>
    private bool LetGo(RoundBook<IActorRef>.ShardTask shard, string reason)
    {
        var round = shard.Round;
        if (!round.CanLetGo(shard)) return false;
        shard.Orphan();
        Notify($"step {round.Step} shard {shard.Index} is not computed again ({reason}): the step can go ahead with the other shards " +
            $"(--backup-workers {_plan.BackupWorkers})");
        return true;
    }
}
