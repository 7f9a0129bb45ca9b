using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>
/// Drives synchronous data-parallel SGD. Each epoch has a deterministic global order; each step takes the next
/// global batch, splits it into one shard per live worker and completes when every shard's result is in. A shard
/// whose worker dies, fails or misses its deadline goes to another worker; only the first result for a shard of
/// the current round is accepted, so no gradient is applied twice or dropped. The parameter server then applies
/// the step and the next one starts from the new weights. With backup workers (<see cref="TrainingPlan.BackupWorkers"/>)
/// a step is applied once all but b of its shards are in (<see cref="BackupQuorum"/>); the rest are abandoned and
/// their samples recorded as skipped.
/// This actor routes messages; the decisions live in <see cref="WorkerRoster{TWorker}"/> (who works),
/// <see cref="RoundBook{TWorker}"/> (the round in flight), <see cref="SampleOrder"/> (which samples) and
/// <see cref="RunProgress"/> (steps, epochs, evaluation).
/// </summary>
public sealed partial class CoordinatorActor : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TrainingPlan _plan;
    private readonly ConfigureWorker _configuration;
    private readonly IActorRef _parameterServer;
    private readonly IActorRef _observer;
    private readonly WorkerRoster<IActorRef> _roster = new();
    private readonly RoundBook<IActorRef> _book = new();
    private readonly StepWindow _window;
    // Time since the coordinator started: a Stopwatch, or the simulated clock of `distributed simulate`.
    private readonly Func<TimeSpan> _elapsed;
    // Names this coordinator's run in every request; answers must echo it (round numbers restart with each coordinator).
    private readonly long _runId = Random.Shared.NextInt64(1, long.MaxValue);
    private PublishedWeights _weights;
    private DataShape? _data;
    private SampleOrder _order = null!;
    private RunProgress _progress = null!;
    private SampleLedger _ledger = null!;
    private int _refusedContributions;
    private int _reassignedShards;
    private readonly HashSet<string> _computeWarnings = [];
    private int _discardedResults;
    // The weights version the run started at minus its first step: version = steps applied + this (0 unless a checkpoint says otherwise).
    private long _versionOffset;
    // Whether the last training round had too few shards for its backup workers (said once per change, not every step).
    private bool _tooFewForBackup;

    public CoordinatorActor(TrainingPlan plan, ConfigureWorker configuration, IActorRef parameterServer, PublishedWeights weights, IActorRef observer,
        Func<TimeSpan>? elapsed = null)
    {
        _plan = plan;
        var stopwatch = Stopwatch.StartNew();
        _elapsed = elapsed ?? (() => stopwatch.Elapsed);
        _configuration = configuration;
        _parameterServer = parameterServer;
        _observer = observer;
        _weights = weights;
        _window = new StepWindow(plan.Staleness);
        Become(WaitingForWorkers);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="elapsed">Time since the start; null measures it with a Stopwatch (the simulator passes its virtual clock).</param>
    public static Props Props(TrainingPlan plan, ConfigureWorker configuration, IActorRef parameterServer, PublishedWeights weights, IActorRef observer,
        Func<TimeSpan>? elapsed = null) =>
        Akka.Actor.Props.Create(() => new CoordinatorActor(plan, configuration, parameterServer, weights, observer, elapsed));

    private double Now => _elapsed().TotalMilliseconds;

    // ---- states ----

    protected override void PreStart() => Timers.StartSingleTimer("join", JoinDeadline.Instance, _plan.JoinTimeout);

    private void WaitingForWorkers()
    {
        HandleMembership();
        Receive<JoinDeadline>(_ => Fail(NotEnoughWorkers()));
        Receive<WorkerConfigured>(message =>
        {
            HandleWorkerConfigured(message);
            if (_roster.LiveCount >= _plan.MinimumWorkers) StartTraining();
        });
    }

    private void Training()
    {
        HandleMembership();
        Receive<WorkerConfigured>(message =>
        {
            HandleWorkerConfigured(message);
            AssignOrphanedShards();
        });
        Receive<WorkCompleted>(HandleWorkCompleted);
        Receive<WeightsMissing>(HandleWeightsMissing);
        Receive<WorkFailed>(HandleWorkFailed);
        Receive<ShardDeadline>(HandleShardDeadline);
        Receive<SpeculationCheck>(_ => Speculate());
        Receive<StepApplied>(HandleStepApplied);
        Receive<ContributionsRefused>(HandleContributionsRefused);
        Receive<ContributionsLost>(HandleContributionsLost);
        Receive<StepRefused>(refused => Fail($"the model diverged at step {refused.Step}: {refused.Reason}; the last good weights are kept"));
    }

    private void Finished()
    {
        HandleMembership();
        Receive<WorkerConfigured>(HandleWorkerConfigured);
        Receive<WorkCompleted>(_ => _discardedResults++);
        ReceiveAny(_ => { });
    }

    private void HandleMembership()
    {
        Receive<RegisterWorker>(HandleRegisterWorker);
        Receive<Terminated>(HandleWorkerTerminated);
        Receive<GetTrainingStatus>(_ => Sender.Tell(BuildStatus()));
        Receive<WorkerUnavailable>(HandleWorkerUnavailable);
    }

    // ---- training flow ----

    private void StartTraining()
    {
        _order = new SampleOrder(_data!.TrainCount, _plan.Seed, _plan.GlobalBatch);
        _progress = new RunProgress(_plan, _plan.StartStep, _order, _data.TestCount);
        _ledger = new SampleLedger(_data.TrainCount);
        _versionOffset = _weights.Version - _plan.StartStep;
        RememberState();
        Timers.Cancel("join");
        _log.Info("Training starts: {0} steps ({1} per epoch), {2} workers", _progress.TotalSteps, _progress.StepsPerEpoch, _roster.LiveCount);
        Become(Training);
        StartNextRound();
    }

    private void StartNextRound()
    {
        switch (_progress.NextRound())
        {
            case RunProgress.Next.TrainStep when Stale:
                Dispatch();
                break;
            case RunProgress.Next.TrainStep:
                _progress.StepStarting(_elapsed().TotalSeconds);
                var batch = _order.BatchOf(_progress.Step);
                _ledger.Plan(_progress.CurrentEpoch, batch);
                StartRound(WorkKind.Train, _progress.CurrentEpoch, batch);
                break;
            case RunProgress.Next.EvaluateFinalWeights:
                _progress.FinalEvaluationStarting();
                StartRound(WorkKind.Evaluate, _progress.LastEpoch, TestIndices());
                break;
            default:
                Finish();
                break;
        }
    }

    private int[] TestIndices() => Enumerable.Range(0, _data!.TestCount).ToArray();

    private void StartRound(WorkKind kind, int epoch, ReadOnlySpan<int> indices)
    {
        var assignable = _roster.Assignable();
        var parts = ShardSplit.Parts(kind == WorkKind.Train, indices.Length, assignable.Count, _plan.GlobalBatch);
        var round = _book.Open(kind, epoch, _progress.Step, ShardSplit.Cut(indices, parts), Now, _plan.BackupWorkers);
        if (kind == WorkKind.Train) WatchBackupQuorum(parts);
        if (assignable.Count == 0) return;
        for (var i = 0; i < round.Shards.Length; i++) Assign(round.Shards[i], assignable[i % assignable.Count]);
        WatchForStragglers(round);
    }

    private void HandleWorkCompleted(WorkCompleted message)
    {
        var known = _roster.TryGet(Sender, out var worker);
        if (known)
        {
            worker.Answered();
            // Every training answer of this run is a measurement of the worker's speed, whether it counts or not:
            // with backup workers a straggler's answers are mostly late, and they are what shows it is one.
            if (message.Kind == WorkKind.Train && message.RunId == _runId) worker.ShardTimes.Add(message.ComputeMilliseconds);
            worker.HeldVersion = Math.Max(worker.HeldVersion, message.WeightsVersion);
            if (worker.State == WorkerState.Unreachable)
            {
                worker.State = WorkerState.Live;
                Notify($"worker {worker.Name} answered again and is back in rotation");
            }
        }
        var admission = Stale
            ? _book.Admit(message, Sender, _runId, VersionFits, _weights.StateLength)
            : _book.Admit(message, Sender, _runId, _weights.Version, _weights.StateLength);
        switch (admission)
        {
            case RoundBook<IActorRef>.Admission.NotAssigned:
                Discard(message, "it comes from a worker the shard was not given to");
                return;
            case RoundBook<IActorRef>.Admission.NotFinite:
                _discardedResults++;
                RefuseNonFinite(_book.Find(message.Round, message.Shard)!, Sender, $"its loss is {message.LossSum}");
                return;
            case RoundBook<IActorRef>.Admission.RoundOver:
                NoteLateOriginal(message.Round, message.Shard, finished: true);
                Discard(message, "its round is over");
                return;
            case RoundBook<IActorRef>.Admission.AlreadyAnswered:
                NoteLateOriginal(message.Round, message.Shard, finished: true);
                Discard(message, "the shard already has a result");
                return;
            case RoundBook<IActorRef>.Admission.Abandoned:
                Discard(message, "the step went ahead without its shard (backup workers)");
                return;
            case RoundBook<IActorRef>.Admission.Mismatch:
                Discard(message, "it does not match the shard (weights version, sample count or buffer size)");
                return;
        }
        var shard = _book.Find(message.Round, message.Shard)!;
        var round = shard.Round;
        shard.Complete(message, Sender, known ? worker.Name : "unknown", Now - round.StartedMilliseconds);
        Timers.Cancel(TimerKey(round.Id, shard.Index));
        if (known && round.Kind == WorkKind.Train) worker.Delivered(message.ComputeMilliseconds);
        if (shard.WonByCopy)
        {
            if (known) worker.CopyWon();
            AwaitLateOriginal(round, shard);
        }
        if (!round.IsReady)
        {
            if (Stale) Dispatch();
            else Speculate();
            return;
        }
        RoundShardsDone(round);

        if (round.Kind == WorkKind.Train)
        {
            round.ShardsDoneMilliseconds = Now - round.StartedMilliseconds;
            // Backup workers: the quorum is met, the shards still out are abandoned (none when every shard is in).
            AbandonLateShards(round);
            // Steps are applied in order: a later step whose shards are all in waits for the older ones (bounded staleness).
            if (ReferenceEquals(round, _book.Current)) SendToServer(round);
            Dispatch();
        }
        else
        {
            CompleteEvaluation(round);
        }
    }

    private void SendToServer(RoundBook<IActorRef>.Round round)
    {
        RebaseStatistics(round);
        // The first shards to arrive, summed in shard order: with b = 0 every shard, exactly as a synchronous step.
        // A parked buffer (range servers on server nodes) goes on as its handle: the servers fetch it from the worker.
        var contributions = round.Answered.Select(s => new ShardContribution(s.Index, s.Result!.Samples, s.Result.Buffer ?? [], s.Result.Parked)).ToArray();
        _parameterServer.Tell(new ApplyStep(round.Step, _plan.Schedule.At(round.Step, _progress.StepsPerEpoch, _progress.TotalSteps), contributions,
            IncludeGradient: IsHealthStep(round),
            HandlesSuffice: !StateNeed.AfterStep(round.Step, _progress.TotalSteps, _progress.StepsPerEpoch, _plan.HealthEvery, Stale)));
    }

    private void HandleStepApplied(StepApplied message)
    {
        if (_book.Current is not { Kind: WorkKind.Train } round || message.Step != round.Step) return;
        var weightsBefore = _weights.State;
        _weights = PublishedWeights.Of(message, _weights.StateLength);
        RememberState();
        _ledger.Apply(round.Epoch, round.Answered.Select(s => s.Indices));
        _ledger.Skip(round.Epoch, round.AbandonedShards.Select(s => s.Indices));
        var epochEnded = _progress.StepApplied(round.Samples, round.LossSum, round.Correct, _elapsed().TotalSeconds);
        var stepMilliseconds = Now - round.StartedMilliseconds;
        var maxStaleness = RecordStaleness(round);
        var (compute, cpu) = StepReport.MeanCompute(round);
        _observer.Tell(new StepCompleted(round.Step, round.Epoch, round.Samples, _progress.LastLoss, (double)round.Correct / round.Samples,
            message.LearningRate, message.GradientNorm, stepMilliseconds, round.Shards.Length, _progress.StepsPerEpoch, round.SkippedSamples, maxStaleness,
            compute, cpu));
        _observer.Tell(StepReport.Timings(round, message, stepMilliseconds));
        if (IsHealthStep(round) && weightsBefore is not null && StepReport.Health(round, message, weightsBefore) is { } health) _observer.Tell(health);
        PublishStatus();
        _book.Close();

        if (!epochEnded)
        {
            if (Stale) ApplyNextOrDispatch();
            else StartNextRound();
            return;
        }
        if (_progress.EvaluatesAfter(round.Epoch))
        {
            StartRound(WorkKind.Evaluate, round.Epoch, TestIndices());
            PublishStatus();
        }
        else
        {
            ReportEpoch(double.NaN, double.NaN);
            StartNextRound();
        }
    }

    private void CompleteEvaluation(RoundBook<IActorRef>.Round round)
    {
        _book.Close();
        _progress.Evaluated((double)round.Correct / round.Samples);
        if (_progress.EvaluatingFinalWeightsOnly)
        {
            Finish();
            return;
        }
        ReportEpoch(round.LossSum / round.Samples, _progress.LastTestAccuracy);
        StartNextRound();
    }

    private void ReportEpoch(double testLoss, double testAccuracy)
    {
        var tally = _progress.Tally;
        _observer.Tell(new EpochWeights(tally.Epoch, _progress.Step, _weights.Version, StateValues));
        var samples = _ledger.Close();
        if (!samples.IsClean) Notify($"epoch {tally.Epoch + 1} sample ledger: {samples.Duplicated} samples applied twice, {samples.Dropped} never applied");
        if (samples.Skipped > 0)
            Notify($"epoch {tally.Epoch + 1} sample ledger: {samples.Applied} samples applied, {samples.Skipped} skipped in shards abandoned by --backup-workers {_plan.BackupWorkers}");
        _observer.Tell(new EpochCompleted(tally.Epoch, tally.MeanLoss, tally.Accuracy, testLoss, testAccuracy, tally.ImagesPerSecond,
            tally.TrainSeconds, _progress.Step, samples));
    }

    private void Finish()
    {
        Become(Finished);
        _log.Info("Training finished after {0} steps; {1} shards reassigned, {2} results discarded", _progress.Step, _reassignedShards, _discardedResults);
        _observer.Tell(new TrainingFinished(_progress.Step, _weights.Version, StateValues, _progress.LastTestAccuracy, _reassignedShards, _discardedResults,
            _ledger.Total, _refusedContributions));
    }

    private void Assign(RoundBook<IActorRef>.ShardTask shard, WorkerRoster<IActorRef>.Entry worker)
    {
        var round = shard.Round;
        shard.AssignTo(worker.Worker, Now - round.StartedMilliseconds);
        // A training shard leaves the worker's running statistics changed (ShardTrainer reloads them), and under
        // bounded staleness a worker often takes two shards on one version: send the weights with every training
        // shard then, rather than pay a WeightsMissing round trip (synchronous mode moves to a new version each step anyway).
        var sendState = worker.HeldVersion != _weights.Version || (Stale && round.Kind == WorkKind.Train);
        worker.HeldVersion = _weights.Version;
        worker.Sent();
        worker.Worker.Tell(Request(round, shard, sendState));
        // A worker computes its shards one after another, so the n-th queued shard gets n deadlines' worth of time.
        Timers.StartSingleTimer(TimerKey(round.Id, shard.Index), new ShardDeadline(round.Id, shard.Index, shard.Attempts),
            _plan.ShardTimeout * worker.Outstanding);
    }

    /// <remarks>With range servers on server nodes the request names where the ranges are served; the proxy sends those, not the state.</remarks>
    private WorkRequest Request(RoundBook<IActorRef>.Round round, RoundBook<IActorRef>.ShardTask shard, bool withState) =>
        new(round.Id, round.Kind, round.Epoch, shard.Index, _weights.Version, shard.Indices, withState ? _weights.State : null,
            ProbeHealth: IsHealthStep(round), RunId: _runId, OldestOpenRound: Stale ? _book.Current!.Id : 0,
            StateRanges: withState ? _weights.Ranges : null);

    /// <summary>The values of the published state, which <see cref="StateNeed"/> made sure were fetched when they are asked for here.</summary>
    private float[] StateValues => _weights.State ?? throw new InvalidOperationException(
        $"the coordinator holds only the handles of weights version {_weights.Version}, not its values (StateNeed did not ask for them)");

    private string NotEnoughWorkers()
    {
        var rejected = _roster.All.Where(w => w.State == WorkerState.Rejected).Select(w => $"{w.Name}: {w.Reason}").ToList();
        return $"only {_roster.LiveCount} of the {_plan.MinimumWorkers} workers needed became live within {_plan.JoinTimeout.TotalSeconds:0.#} s " +
            $"(--join-timeout); {_roster.Count} registered" + (rejected.Count > 0 ? $", rejected: {string.Join("; ", rejected)}" : "");
    }

    private static string TimerKey(long round, int shard) => $"deadline-{round}-{shard}";

    private void Fail(string reason)
    {
        Become(Finished);
        Timers.Cancel(SpeculationTimer);
        _log.Error("Training failed: {0}", reason);
        _observer.Tell(new TrainingFailed(reason, _progress?.Step ?? _plan.StartStep));
    }

    private void Discard(WorkCompleted message, string reason)
    {
        _discardedResults++;
        _log.Debug("Discarded result for round {0} shard {1}: {2}", message.Round, message.Shard, reason);
        // The answer freed its worker: under bounded staleness that is when a free worker takes the next shard.
        Dispatch();
    }

    private void Notify(string text)
    {
        _log.Info(text);
        _observer.Tell(new TrainingNotice(text));
    }

    // ---- telemetry (what operators see; nothing here changes the training) ----

    /// <summary>Every <see cref="TrainingPlan.HealthEvery"/>-th training step (step 0 included) measures gradient health.</summary>
    private bool IsHealthStep(RoundBook<IActorRef>.Round round) =>
        round.Kind == WorkKind.Train && _plan.HealthEvery > 0 && round.Step % _plan.HealthEvery == 0;

    private void PublishStatus() => _observer.Tell(BuildStatus());

    private TrainingStatus BuildStatus() => new(
        _book.Current is null ? (_data is null ? "waiting-for-workers" : "between-rounds") : _book.Current.Kind == WorkKind.Train ? "training" : "evaluating",
        _progress?.Step ?? _plan.StartStep, _progress?.CurrentEpoch ?? -1, _progress?.TotalSteps ?? 0,
        _roster.Status().ToArray(), _progress?.LastLoss ?? double.NaN, _progress?.LastImagesPerSecond ?? 0);

    private sealed record ShardDeadline(long Round, int Shard, int Attempt) : INoSerializationVerificationNeeded;

    private sealed record JoinDeadline : INoSerializationVerificationNeeded
    {
        public static JoinDeadline Instance { get; } = new();
    }
}
