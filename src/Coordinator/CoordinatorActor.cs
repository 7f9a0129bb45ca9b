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
/// the step and the next one starts from the new weights.
/// </summary>
public sealed class CoordinatorActor : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TrainingPlan _plan;
    private readonly ConfigureWorker _configuration;
    private readonly IActorRef _parameterServer;
    private readonly IActorRef _observer;
    private readonly Dictionary<IActorRef, WorkerEntry> _workers = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private float[] _state;
    private long _version;
    private int _trainCount = -1;
    private int _testCount = -1;
    private long _step;
    private long _totalSteps;
    private int _stepsPerEpoch;
    private int _permutationEpoch = -1;
    private int[] _permutation = [];
    private long _nextRoundId = 1;
    private Round? _round;
    private EpochTally _epochTally = new(0, 0);
    private double _lastTestAccuracy = double.NaN;
    private bool _evaluatingFinalWeightsOnly;
    private double _lastLoss = double.NaN;
    private double _lastImagesPerSecond;
    private int _reassignedShards;
    private int _discardedResults;

    public CoordinatorActor(TrainingPlan plan, ConfigureWorker configuration, IActorRef parameterServer,
        float[] initialState, long initialVersion, IActorRef observer)
    {
        _plan = plan;
        _configuration = configuration;
        _parameterServer = parameterServer;
        _observer = observer;
        _state = initialState;
        _version = initialVersion;
        _step = plan.StartStep;
        Become(WaitingForWorkers);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(TrainingPlan plan, ConfigureWorker configuration, IActorRef parameterServer,
        float[] initialState, long initialVersion, IActorRef observer) =>
        Akka.Actor.Props.Create(() => new CoordinatorActor(plan, configuration, parameterServer, initialState, initialVersion, observer));

    // ---- states ----

    private void WaitingForWorkers()
    {
        HandleMembership();
        Receive<WorkerConfigured>(message =>
        {
            HandleWorkerConfigured(message);
            if (LiveWorkers().Count() >= _plan.MinimumWorkers) StartTraining();
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
        Receive<StepApplied>(HandleStepApplied);
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

    // ---- membership ----

    private void HandleRegisterWorker(RegisterWorker message)
    {
        if (_workers.ContainsKey(Sender)) return;
        _workers[Sender] = new WorkerEntry(Sender, message.WorkerName);
        Context.Watch(Sender);
        Sender.Tell(_configuration);
        _log.Info("Worker {0} registered; configuring it", message.WorkerName);
        PublishStatus();
    }

    private void HandleWorkerConfigured(WorkerConfigured message)
    {
        if (!_workers.TryGetValue(Sender, out var worker)) return;
        if (message.StateLength != _state.Length)
        {
            Notify($"worker {message.WorkerName} built a model with {message.StateLength} state values, expected {_state.Length}; ignoring it");
            worker.Phase = WorkerPhase.Rejected;
            return;
        }
        if (_trainCount >= 0 && (message.TrainCount != _trainCount || message.TestCount != _testCount))
        {
            Notify($"worker {message.WorkerName} sees {message.TrainCount}/{message.TestCount} samples, the others {_trainCount}/{_testCount}; ignoring it");
            worker.Phase = WorkerPhase.Rejected;
            return;
        }
        _trainCount = message.TrainCount;
        _testCount = message.TestCount;
        worker.Phase = WorkerPhase.Live;
        Notify($"worker {message.WorkerName} is live ({LiveWorkers().Count()} live)");
        PublishStatus();
    }

    private void HandleWorkerUnavailable(WorkerUnavailable message)
    {
        if (!_workers.TryGetValue(Sender, out var worker)) return;
        worker.Phase = WorkerPhase.Rejected;
        Notify($"worker {message.WorkerName} cannot work: {message.Reason}");
        PublishStatus();
        if (_trainCount < 0 && _workers.Count >= _plan.MinimumWorkers && _workers.Values.All(w => w.Phase == WorkerPhase.Rejected))
            Fail($"no worker could start: {message.Reason}");
    }

    private void HandleWorkerTerminated(Terminated message)
    {
        if (!_workers.Remove(message.ActorRef, out var worker)) return;
        Notify($"worker {worker.Name} is gone ({LiveWorkers().Count()} live)");
        PublishStatus();
        if (_round is null) return;
        foreach (var shard in _round.Shards.Where(s => s.Result is null && Equals(s.Assignee, message.ActorRef)))
        {
            Reassign(shard, $"its worker {worker.Name} is gone");
        }
    }

    // ---- training flow ----

    private void StartTraining()
    {
        _stepsPerEpoch = TrainingPlan.StepsPerEpoch(_trainCount, _plan.GlobalBatch);
        _totalSteps = _plan.TotalSteps(_trainCount);
        _log.Info("Training starts: {0} steps ({1} per epoch), {2} workers", _totalSteps, _stepsPerEpoch, LiveWorkers().Count());
        Become(Training);
        StartNextRound();
    }

    private void StartNextRound()
    {
        if (_step >= _totalSteps)
        {
            if (NeedsFinalEvaluation())
            {
                _evaluatingFinalWeightsOnly = true;
                StartRound(WorkKind.Evaluate, (int)((_step - 1) / _stepsPerEpoch), Enumerable.Range(0, _testCount).ToArray());
                return;
            }
            Finish();
            return;
        }
        var epoch = (int)(_step / _stepsPerEpoch);
        var position = (int)(_step % _stepsPerEpoch);
        if (epoch != _permutationEpoch)
        {
            _permutation = DeterministicShuffle.Permutation(_trainCount, _plan.Seed, epoch);
            _permutationEpoch = epoch;
        }
        if (position == 0 || _epochTally.Epoch != epoch) _epochTally = new EpochTally(epoch, _clock.Elapsed.TotalSeconds);
        var start = position * _plan.GlobalBatch;
        var length = Math.Min(_plan.GlobalBatch, _trainCount - start);
        StartRound(WorkKind.Train, epoch, _permutation.AsSpan(start, length));
    }

    /// <summary>
    /// A training step has one shard per worker. An evaluation pass is cut into shards of at most one global
    /// batch, dealt round-robin, so a lost worker costs little and each shard's deadline stays comparable to a step.
    /// </summary>
    private void StartRound(WorkKind kind, int epoch, ReadOnlySpan<int> indices)
    {
        var assignable = AssignableWorkers();
        var parts = kind == WorkKind.Train
            ? Math.Max(1, Math.Min(assignable.Count, indices.Length))
            : Math.Max(Math.Max(1, assignable.Count), (indices.Length + _plan.GlobalBatch - 1) / _plan.GlobalBatch);
        var ranges = DeterministicShuffle.Split(indices.Length, parts);
        var shards = new ShardTask[ranges.Length];
        for (var i = 0; i < ranges.Length; i++) shards[i] = new ShardTask(i, indices.Slice(ranges[i].Start, ranges[i].Length).ToArray());
        _round = new Round(_nextRoundId++, kind, epoch, _step, shards, _clock.Elapsed.TotalMilliseconds);
        if (assignable.Count == 0) return;
        for (var i = 0; i < shards.Length; i++) Assign(shards[i], assignable[i % assignable.Count]);
    }

    private void HandleWorkCompleted(WorkCompleted message)
    {
        var known = _workers.TryGetValue(Sender, out var worker);
        if (known)
        {
            worker!.Outstanding = Math.Max(0, worker.Outstanding - 1);
            worker.HeldVersion = Math.Max(worker.HeldVersion, message.WeightsVersion);
            if (worker.Phase == WorkerPhase.Suspect)
            {
                worker.Phase = WorkerPhase.Live;
                Notify($"worker {worker.Name} answered again and is back in rotation");
            }
        }
        var round = _round;
        if (round is null || message.Round != round.Id || message.Shard >= round.Shards.Length)
        {
            Discard(message, "its round is over");
            return;
        }
        var shard = round.Shards[message.Shard];
        if (shard.Result is not null)
        {
            Discard(message, "the shard already has a result");
            return;
        }
        if (message.WeightsVersion != _version || message.Samples != shard.Indices.Length
            || (round.Kind == WorkKind.Train && message.Buffer?.Length != _state.Length))
        {
            Discard(message, "it does not match the shard (weights version, sample count or buffer size)");
            return;
        }
        shard.Result = message;
        shard.ReceivedMilliseconds = _clock.Elapsed.TotalMilliseconds - round.StartedMilliseconds;
        shard.CompletedBy = known ? worker!.Name : "unknown";
        Timers.Cancel(shard.TimerKey(round.Id));
        if (known)
        {
            worker!.Completed++;
            worker.TotalMilliseconds += message.ComputeMilliseconds;
        }
        if (round.Shards.Any(s => s.Result is null)) return;

        if (round.Kind == WorkKind.Train)
        {
            round.ShardsDoneMilliseconds = _clock.Elapsed.TotalMilliseconds - round.StartedMilliseconds;
            var contributions = round.Shards.Select(s => new ShardContribution(s.Index, s.Result!.Samples, s.Result.Buffer!)).ToArray();
            _parameterServer.Tell(new ApplyStep(round.Step, _plan.Schedule.At(round.Step, _stepsPerEpoch, _totalSteps), contributions,
                IncludeGradient: IsHealthStep(round)));
        }
        else
        {
            CompleteEvaluation(round);
        }
    }

    private void HandleStepApplied(StepApplied message)
    {
        var round = _round;
        if (round is null || round.Kind != WorkKind.Train || message.Step != round.Step) return;
        var weightsBefore = _state;
        _state = message.State;
        _version = message.WeightsVersion;
        var samples = round.Shards.Sum(s => s.Result!.Samples);
        var lossSum = round.Shards.Sum(s => s.Result!.LossSum);
        var correct = round.Shards.Sum(s => s.Result!.Correct);
        _epochTally.Add(samples, lossSum, correct);
        _lastLoss = lossSum / samples;
        var stepMilliseconds = _clock.Elapsed.TotalMilliseconds - round.StartedMilliseconds;
        _observer.Tell(new StepCompleted(round.Step, round.Epoch, samples, _lastLoss, (double)correct / samples,
            message.LearningRate, message.GradientNorm, stepMilliseconds, round.Shards.Length, _stepsPerEpoch));
        PublishStepTelemetry(round, message, weightsBefore, stepMilliseconds);
        _step++;
        _round = null;

        var epochEnds = _step % _stepsPerEpoch == 0 || _step >= _totalSteps;
        if (!epochEnds)
        {
            StartNextRound();
            return;
        }
        _epochTally.TrainSeconds = _clock.Elapsed.TotalSeconds - _epochTally.StartedSeconds;
        if (_plan.EvaluateEachEpoch && _testCount > 0)
        {
            var testIndices = Enumerable.Range(0, _testCount).ToArray();
            StartRound(WorkKind.Evaluate, round.Epoch, testIndices);
            PublishStatus();
        }
        else
        {
            ReportEpoch(double.NaN, double.NaN);
            StartNextRound();
        }
    }

    /// <summary>
    /// A run resumed from a checkpoint of its last step (stopped during its final evaluation, or already done)
    /// has no step left to train, but its final weights still deserve a test accuracy.
    /// </summary>
    private bool NeedsFinalEvaluation() =>
        double.IsNaN(_lastTestAccuracy) && _plan.EvaluateEachEpoch && _testCount > 0 && _step > 0;

    private void CompleteEvaluation(Round round)
    {
        var samples = round.Shards.Sum(s => s.Result!.Samples);
        var lossSum = round.Shards.Sum(s => s.Result!.LossSum);
        var correct = round.Shards.Sum(s => s.Result!.Correct);
        _round = null;
        _lastTestAccuracy = (double)correct / samples;
        if (_evaluatingFinalWeightsOnly)
        {
            Finish();
            return;
        }
        ReportEpoch(lossSum / samples, _lastTestAccuracy);
        StartNextRound();
    }

    private void ReportEpoch(double testLoss, double testAccuracy)
    {
        var tally = _epochTally;
        _lastImagesPerSecond = tally.TrainSeconds > 0 ? tally.Samples / tally.TrainSeconds : 0;
        _observer.Tell(new EpochWeights(tally.Epoch, _step, _version, _state));
        _observer.Tell(new EpochCompleted(tally.Epoch, tally.LossSum / Math.Max(1, tally.Samples),
            (double)tally.Correct / Math.Max(1, tally.Samples), testLoss, testAccuracy, _lastImagesPerSecond,
            tally.TrainSeconds, _step));
    }

    private void Finish()
    {
        Become(Finished);
        _log.Info("Training finished after {0} steps; {1} shards reassigned, {2} results discarded", _step, _reassignedShards, _discardedResults);
        _observer.Tell(new TrainingFinished(_step, _version, _state, _lastTestAccuracy, _reassignedShards, _discardedResults));
    }

    // ---- faults ----

    private void HandleWeightsMissing(WeightsMissing message)
    {
        var round = _round;
        if (round is null || message.Round != round.Id || !_workers.TryGetValue(Sender, out var worker)) return;
        var shard = round.Shards[message.Shard];
        if (shard.Result is not null || !Equals(shard.Assignee, Sender)) return;
        worker.HeldVersion = message.HeldVersion;
        worker.Outstanding = Math.Max(0, worker.Outstanding - 1);
        Assign(shard, worker);
    }

    private void HandleWorkFailed(WorkFailed message)
    {
        var round = _round;
        if (round is null || message.Round != round.Id) return;
        var shard = round.Shards[message.Shard];
        if (shard.Result is not null || !Equals(shard.Assignee, Sender)) return;
        if (_workers.TryGetValue(Sender, out var worker)) worker.Outstanding = Math.Max(0, worker.Outstanding - 1);
        if (shard.Attempts >= 3 * Math.Max(1, _workers.Count))
        {
            Fail($"shard {shard.Index} of step {round.Step} failed on every attempt; last error: {message.Reason}");
            return;
        }
        Reassign(shard, $"its worker failed: {message.Reason}");
    }

    private void HandleShardDeadline(ShardDeadline message)
    {
        var round = _round;
        if (round is null || message.Round != round.Id) return;
        var shard = round.Shards[message.Shard];
        if (shard.Result is not null || shard.Attempts != message.Attempt) return;
        if (shard.Assignee is { } late && _workers.TryGetValue(late, out var worker))
        {
            worker.Phase = WorkerPhase.Suspect;
            worker.MissedDeadlines++;
            PublishStatus();
        }
        Reassign(shard, $"it missed its {_plan.ShardTimeout.TotalSeconds:0.###} s deadline");
    }

    private void Reassign(ShardTask shard, string reason)
    {
        var round = _round!;
        var previous = shard.Assignee;
        var candidates = AssignableWorkers().Where(w => !Equals(w.Ref, previous)).ToList();
        if (candidates.Count == 0) candidates = AssignableWorkers().ToList();
        _reassignedShards++;
        var target = candidates.OrderBy(w => w.Outstanding).FirstOrDefault();
        Notify($"step {round.Step} shard {shard.Index} reassigned because {reason}" + (target is null ? "; waiting for a worker" : $"; now on {target.Name}"));
        if (target is null)
        {
            shard.Assignee = null;
            return;
        }
        Assign(shard, target);
    }

    private void AssignOrphanedShards()
    {
        if (_round is null) return;
        foreach (var shard in _round.Shards.Where(s => s.Result is null && s.Assignee is null))
        {
            var target = AssignableWorkers().OrderBy(w => w.Outstanding).FirstOrDefault();
            if (target is null) return;
            Assign(shard, target);
        }
    }

    private void Assign(ShardTask shard, WorkerEntry worker)
    {
        var round = _round!;
        shard.Assignee = worker.Ref;
        shard.Attempts++;
        var sendState = worker.HeldVersion != _version;
        worker.HeldVersion = _version;
        worker.Outstanding++;
        shard.SentMilliseconds = _clock.Elapsed.TotalMilliseconds - round.StartedMilliseconds;
        worker.Ref.Tell(new WorkRequest(round.Id, round.Kind, round.Epoch, shard.Index, _version, shard.Indices, sendState ? _state : null,
            ProbeHealth: IsHealthStep(round)));
        // A worker computes its shards one after another, so the n-th queued shard gets n deadlines' worth of time.
        Timers.StartSingleTimer(shard.TimerKey(round.Id), new ShardDeadline(round.Id, shard.Index, shard.Attempts),
            _plan.ShardTimeout * worker.Outstanding);
    }

    private void Fail(string reason)
    {
        Become(Finished);
        _log.Error("Training failed: {0}", reason);
        _observer.Tell(new TrainingFailed(reason, _step));
    }

    private void Discard(WorkCompleted message, string reason)
    {
        _discardedResults++;
        _log.Debug("Discarded result for round {0} shard {1}: {2}", message.Round, message.Shard, reason);
    }

    private void Notify(string text)
    {
        _log.Info(text);
        _observer.Tell(new TrainingNotice(text));
    }

    // ---- helpers ----

    private IEnumerable<WorkerEntry> LiveWorkers() =>
        _workers.Values.Where(w => w.Phase is WorkerPhase.Live or WorkerPhase.Suspect);

    /// <summary>Healthy workers first; suspects only when nobody else is left.</summary>
    private List<WorkerEntry> AssignableWorkers()
    {
        var healthy = _workers.Values.Where(w => w.Phase == WorkerPhase.Live).OrderBy(w => w.Name, StringComparer.Ordinal).ToList();
        return healthy.Count > 0
            ? healthy
            : _workers.Values.Where(w => w.Phase == WorkerPhase.Suspect).OrderBy(w => w.Name, StringComparer.Ordinal).ToList();
    }

    // ---- telemetry (what operators see; nothing here changes the training) ----

    /// <summary>Every <see cref="TrainingPlan.HealthEvery"/>-th training step (step 0 included) measures gradient health.</summary>
    private bool IsHealthStep(Round round) =>
        round.Kind == WorkKind.Train && _plan.HealthEvery > 0 && round.Step % _plan.HealthEvery == 0;

    private void PublishStatus() => _observer.Tell(BuildStatus());

    private void PublishStepTelemetry(Round round, StepApplied applied, float[] weightsBefore, double stepMilliseconds)
    {
        var shards = round.Shards.Select(s => new ShardTiming(s.Index, s.CompletedBy ?? "unknown", s.Result!.Samples, s.SentMilliseconds,
            s.ReceivedMilliseconds, s.Result.ComputeMilliseconds, s.Result.HealthMilliseconds, s.Attempts)).ToArray();
        _observer.Tell(new StepTimings(round.Step, round.Epoch, round.StartedMilliseconds, round.ShardsDoneMilliseconds, stepMilliseconds,
            applied.AggregationMilliseconds, applied.OptimizerMilliseconds, shards));
        if (IsHealthStep(round) && applied.Gradient is { } gradient)
        {
            var reports = round.Shards.Select(s => s.Result!.Health).OfType<ShardHealth>().ToArray();
            _observer.Tell(new HealthSample(round.Step, round.Epoch, weightsBefore, applied.State, gradient, reports, applied.LearningRate));
        }
        PublishStatus();
    }

    private TrainingStatus BuildStatus() => new(
        _round is null ? (_trainCount < 0 ? "waiting-for-workers" : "between-rounds") : _round.Kind == WorkKind.Train ? "training" : "evaluating",
        _step, _permutationEpoch, _totalSteps,
        _workers.Values.OrderBy(w => w.Name, StringComparer.Ordinal)
            .Select(w => new WorkerStatus(w.Name, w.Phase.ToString().ToLowerInvariant(), w.Completed,
                w.Completed == 0 ? 0 : w.TotalMilliseconds / w.Completed, w.MissedDeadlines)).ToArray(),
        _lastLoss, _lastImagesPerSecond);

    private enum WorkerPhase { Configuring, Live, Suspect, Rejected }

    private sealed class WorkerEntry(IActorRef workerRef, string name)
    {
        public IActorRef Ref { get; } = workerRef;
        public string Name { get; } = name;
        public WorkerPhase Phase { get; set; } = WorkerPhase.Configuring;
        public long HeldVersion { get; set; } = -1;
        public int Outstanding { get; set; }
        public int Completed { get; set; }
        public double TotalMilliseconds { get; set; }
        public int MissedDeadlines { get; set; }
    }

    private sealed class ShardTask(int index, int[] indices)
    {
        public int Index { get; } = index;
        public int[] Indices { get; } = indices;
        public IActorRef? Assignee { get; set; }
        public int Attempts { get; set; }
        public WorkCompleted? Result { get; set; }
        public double SentMilliseconds { get; set; }
        public double ReceivedMilliseconds { get; set; }
        public string? CompletedBy { get; set; }
        public string TimerKey(long round) => $"deadline-{round}-{Index}";
    }

    private sealed record Round(long Id, WorkKind Kind, int Epoch, long Step, ShardTask[] Shards, double StartedMilliseconds)
    {
        public double ShardsDoneMilliseconds { get; set; }
    }

    private sealed class EpochTally(int epoch, double startedSeconds)
    {
        public int Epoch { get; } = epoch;
        public double StartedSeconds { get; } = startedSeconds;
        public double TrainSeconds { get; set; }
        public long Samples { get; private set; }
        public double LossSum { get; private set; }
        public long Correct { get; private set; }

        public void Add(int samples, double lossSum, int correct)
        {
            Samples += samples;
            LossSum += lossSum;
            Correct += correct;
        }
    }

    private sealed record ShardDeadline(long Round, int Shard, int Attempt) : INoSerializationVerificationNeeded;
}
