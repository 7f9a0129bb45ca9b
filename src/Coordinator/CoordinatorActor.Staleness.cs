using Akka.Actor;
using Distributed.Protocol;

namespace Distributed.Coordinator;

// Bounded staleness (--staleness s ≥ 1): up to s + 1 training steps are open at once (StepWindow decides which). A
// free worker takes the next unassigned shard of the oldest open step, or opens the next step when the window allows,
// always with the newest weights; steps are applied one at a time, in order, each as soon as all its shards are in.
// The averaging is the synchronous one (over samples, in shard order); what changes is that step t's shards may have
// been computed on weights t − τ, 0 ≤ τ ≤ s, and τ is recorded per shard, per worker and per step.
// Synchronous mode (s = 0) never comes here: StartRound deals a whole step and the next opens when it is applied.
public sealed partial class CoordinatorActor
{
    // The states of the last s + 1 versions (the published arrays, not copies), for moving stale shards' running statistics (StaleStatistics).
    private readonly Dictionary<long, float[]> _recentStates = new();
    // Where the running statistics start in a state (from the workers' configuration; 0 while no worker said).
    private int _parameterCount;

    private bool Stale => _plan.Staleness > 0;

    /// <summary>A new version was published: it may be the base of shards of the next s steps.</summary>
    private void RememberState()
    {
        if (!Stale) return;
        _recentStates[_weights.Version] = StateValues;
        foreach (var old in _recentStates.Keys.Where(v => v < _weights.Version - _plan.Staleness).ToList()) _recentStates.Remove(old);
    }

    /// <summary>
    /// Moves each stale shard's running statistics onto the weights the step is applied to (the newest version: steps
    /// go to the server in order). Once per accepted result: a result sent again after a refusal is not moved twice.
    /// </summary>
    private void RebaseStatistics(RoundBook<IActorRef>.Round round)
    {
        if (!Stale || _parameterCount <= 0 || _parameterCount >= _weights.StateLength) return;
        var now = StateValues.AsSpan(_parameterCount);
        foreach (var shard in round.Answered)
        {
            var result = shard.Result!;
            if (shard.StatisticsRebased || result.WeightsVersion == _weights.Version) continue;
            if (!_recentStates.TryGetValue(result.WeightsVersion, out var then))
                throw new InvalidOperationException($"step {round.Step} shard {shard.Index}: no state of version {result.WeightsVersion} is kept " +
                    $"(versions {_weights.Version - _plan.Staleness}..{_weights.Version} are)");
            StaleStatistics.Rebase(result.Buffer!.AsSpan(_parameterCount), now, then.AsSpan(_parameterCount));
            shard.StatisticsRebased = true;
        }
    }

    /// <summary>A result under bounded staleness counts for a training step when its weights are within the bound; evaluation wants the newest.</summary>
    private bool VersionFits(RoundBook<IActorRef>.Round round, long version) => round.Kind == WorkKind.Train
        ? _window.Admits(round.Step, version, _weights.Version, _versionOffset)
        : version == _weights.Version;

    /// <summary>Gives every free worker (nothing outstanding) a shard: the oldest open step's first, then a newly opened step's.</summary>
    private void Dispatch()
    {
        // An evaluation round is dealt whole by StartRound; training resumes when it is done.
        if (!Stale || _book.Current is { Kind: WorkKind.Evaluate }) return;
        foreach (var worker in _roster.Assignable().Where(w => w.Outstanding == 0))
        {
            var shard = _book.NextUnassigned(worker.Worker);
            if (shard is null && OpenNextStep()) shard = _book.NextUnassigned(worker.Worker);
            if (shard is null) continue;
            Assign(shard, worker);
        }
    }

    /// <summary>Opens the step after the newest open one when the window allows it; the shard split is the synchronous one.</summary>
    private bool OpenNextStep()
    {
        var next = _book.Newest is { Kind: WorkKind.Train } newest ? newest.Step + 1 : _progress.Step;
        if (!_window.MayOpen(next, _progress.Step, _progress.TotalSteps, _progress.StepsPerEpoch)) return false;
        // The epoch's tally starts with its first step; the window never holds steps of two epochs.
        if (next == _progress.Step) _progress.StepStarting(_elapsed().TotalSeconds);
        var batch = _order.BatchOf(next);
        var epoch = _order.EpochOf(next);
        _ledger.Plan(epoch, batch);
        var parts = ShardSplit.Parts(true, batch.Length, _roster.Assignable().Count, _plan.GlobalBatch);
        _book.Open(WorkKind.Train, epoch, next, ShardSplit.Cut(batch, parts), Now);
        return true;
    }

    /// <summary>After a step is applied: the next step goes to the server if its shards are all in, and the window has moved on.</summary>
    private void ApplyNextOrDispatch()
    {
        if (_book.Current is { Kind: WorkKind.Train, IsComplete: true } next) SendToServer(next);
        Dispatch();
    }

    /// <summary>
    /// Each applied shard's staleness τ goes to the worker that computed it; the step's largest is returned. Abandoned
    /// shards (backup workers, synchronous only) were not applied and have no τ.
    /// </summary>
    private int RecordStaleness(RoundBook<IActorRef>.Round round)
    {
        var max = 0;
        foreach (var shard in round.Answered)
        {
            var staleness = (int)StepWindow.StalenessOf(round.Step, shard.Result!.WeightsVersion, _versionOffset);
            max = Math.Max(max, staleness);
            _roster.GradientApplied(shard.CompletedByWorker, shard.CompletedBy, staleness);
        }
        return max;
    }
}
