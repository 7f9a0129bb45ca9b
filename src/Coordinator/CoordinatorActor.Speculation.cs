using Akka.Actor;
using Akka.Event;
using Distributed.Protocol;

namespace Distributed.Coordinator;

// Speculative shards: while a training round is open, a shard that runs well past its peers is also sent to an
// idle worker (StragglerPolicy decides which and to whom). The copy is the same request (same shard, same samples,
// same weights), so its result is bit-identical; the first result counts and the other is discarded, so the sample
// ledger stays exactly once. The straggler keeps its shard, its deadline and its place in rotation.
public sealed partial class CoordinatorActor
{
    /// <summary>How often a round is checked: well under a shard's time, so a copy starts soon after the threshold passes.</summary>
    private static readonly TimeSpan SpeculationTick = TimeSpan.FromMilliseconds(20);

    private const string SpeculationTimer = "speculate";

    private readonly StragglerPolicy<IActorRef> _stragglers = new();

    /// <summary>
    /// Off under bounded staleness: there a free worker takes a later step's shard instead of copying a straggler's,
    /// which is the same use of its time without computing anything twice.
    /// </summary>
    private bool Speculating => _plan.Speculate && !Stale;

    private void WatchForStragglers(RoundBook<IActorRef>.Round round)
    {
        if (Speculating && round.Kind == WorkKind.Train && !IsHealthStep(round)) Timers.StartPeriodicTimer(SpeculationTimer, SpeculationCheck.Instance, SpeculationTick);
    }

    /// <summary>
    /// The round's shards are in (all, or the backup quorum): their times join the distribution the next rounds are
    /// judged by, and the times of the shards their first worker finished join the evidence of what copies win (a
    /// copy's win waits for the original's late result, <see cref="NoteLateOriginal"/>). Abandoned shards have no
    /// time; a copy of one would be moot, so none starts once the quorum is met.
    /// </summary>
    private void RoundShardsDone(RoundBook<IActorRef>.Round round)
    {
        Timers.Cancel(SpeculationTimer);
        // A health step's shards run their probes too: their times are not what a shard normally takes.
        if (round.Kind != WorkKind.Train || IsHealthStep(round)) return;
        _stragglers.StepFinished(round.Answered.Select(s => s.TurnaroundMilliseconds));
        foreach (var shard in round.Answered.Where(s => !s.WonByCopy)) _stragglers.OriginalFinished(shard.TurnaroundMilliseconds);
    }

    /// <summary>A copy won its shard: the original's result, when it comes, is discarded but still timed.</summary>
    private void AwaitLateOriginal(RoundBook<IActorRef>.Round round, RoundBook<IActorRef>.ShardTask shard)
    {
        if (shard.Assignee is { } original) _stragglers.CopyWon(round.Id, shard.Index, original, round.StartedMilliseconds + shard.SentMilliseconds);
    }

    private void NoteLateOriginal(long round, int shard, bool finished) => _stragglers.Answered(round, shard, Sender, Now, finished);

    /// <summary>
    /// Checked on the timer and whenever a shard completes (that frees a worker). Not on a health step: every shard
    /// there runs a probe after its step, so one worker finishing first while the other still probes is ordinary,
    /// and a copy (the same request, so it probes too) cannot finish first; it only keeps its worker busy into the
    /// next step, which then starts up to a shard's time late (bench/README.md, "Health probes and speculative copies").
    /// </summary>
    private void Speculate()
    {
        if (!Speculating || _book.Current is not { Kind: WorkKind.Train } round || round.IsReady || IsHealthStep(round)) return;
        var idle = _roster.Assignable().Where(w => w.Outstanding == 0).ToList();
        if (idle.Count == 0) return;
        var now = Now - round.StartedMilliseconds;
        var finished = round.Shards.Where(s => s.Result is not null).Select(s => s.TurnaroundMilliseconds);
        var running = round.Unanswered.Where(s => s.Assignee is not null)
            .Select(s => new StragglerPolicy<IActorRef>.Running(s.Index, s.Assignee!, now - s.SentMilliseconds, s.SpeculatedTo is not null))
            .ToList();
        foreach (var copy in _stragglers.Choose(finished, running, idle.Select(w => w.Worker).ToList()))
            SendCopy(round, round.Shards[copy.Shard], idle.First(w => ReferenceEquals(w.Worker, copy.Worker)));
    }

    private void SendCopy(RoundBook<IActorRef>.Round round, RoundBook<IActorRef>.ShardTask shard, WorkerRoster<IActorRef>.Entry worker)
    {
        shard.Speculate(worker.Worker, Now - round.StartedMilliseconds);
        worker.Sent();
        worker.CopyStarted();
        // Always with the weights: a worker that trained a shard of this round has overwritten its running
        // statistics (ShardTrainer reloads them), so it lacks this version whatever it held.
        worker.HeldVersion = _weights.Version;
        worker.Worker.Tell(Request(round, shard, withState: true));
        var straggler = shard.Assignee is { } assignee && _roster.TryGet(assignee, out var owner) ? owner.Name : "its worker";
        _log.Info("Step {0} shard {1}: {2} runs past its peers; a speculative copy goes to {3}", round.Step, shard.Index, straggler, worker.Name);
    }

    /// <summary>A copy that cannot be computed is dropped: the shard's assignee still holds it, under its deadline.</summary>
    private bool DropFailedCopy(RoundBook<IActorRef>.ShardTask shard)
    {
        // The failed copy's answer was already counted (HandleWorkFailed); the original still counts for the shard.
        return shard.Result is null && ReferenceEquals(shard.SpeculatedTo, Sender) && !ReferenceEquals(shard.Assignee, Sender);
    }

    private sealed record SpeculationCheck : INoSerializationVerificationNeeded
    {
        public static SpeculationCheck Instance { get; } = new();
    }
}
