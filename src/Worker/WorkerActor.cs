using Akka.Actor;
using Akka.Event;
using Distributed.Protocol;
using Distributed.Worker.Faults;

namespace Distributed.Worker;

/// <summary>
/// Holds a model replica and computes shards for the coordinator. Work runs on the worker's own compute thread
/// and comes back as a message, so the actor stays responsive (status, new requests) while it computes.
/// Requests that arrive while busy wait in a queue; requests for rounds the coordinator has moved past are
/// skipped (answered as skipped), since their shards were completed elsewhere. A configuration that arrives while a shard
/// computes or another configuration loads (a new coordinator, a resumed run) waits until that is done; every
/// configuration gets exactly one answer, in order.
/// A <see cref="FaultPlan"/> makes it rehearse failures (NaN gradients, a crash, a hang, slowness) at given training
/// shards, counted by this actor.
/// </summary>
public sealed class WorkerActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _name;
    private readonly int _torchThreads;
    private readonly FaultPlan _faults;
    private readonly Queue<(WorkRequest Request, IActorRef ReplyTo)> _queue = new();
    private readonly Queue<(ConfigureWorker Configuration, IActorRef ReplyTo)> _pendingConfigurations = new();
    private ComputeThread? _computeThread;
    private ShardTrainer? _trainer;
    private long _latestRound;
    private long _trainingShards;

    public WorkerActor(string name, int torchThreads, FaultPlan? faults = null)
    {
        _name = name;
        _torchThreads = torchThreads;
        _faults = faults ?? FaultPlan.None;
        Become(Unconfigured);
    }

    public static Props Props(string name, int torchThreads, FaultPlan? faults = null) =>
        Akka.Actor.Props.Create(() => new WorkerActor(name, torchThreads, faults));

    private void Unconfigured()
    {
        Receive<ConfigureWorker>(configuration => Configure(configuration, Sender));
        Receive<WorkRequest>(request => Sender.Tell(new WorkFailed(request.Round, request.Shard, $"worker {_name} is not configured")));
    }

    private void Configuring()
    {
        Receive<Configured>(HandleConfigured);
        Receive<ConfigurationFailed>(failure =>
        {
            _log.Error("Worker {0} could not be configured: {1}", _name, failure.Reason);
            failure.ReplyTo.Tell(new WorkerUnavailable(_name, failure.Reason));
            Become(Unconfigured);
            ConfigureNextPending();
        });
        Receive<WorkRequest>(request => _queue.Enqueue((request, Sender)));
        Receive<ConfigureWorker>(DeferConfiguration);
    }

    private void Idle()
    {
        Receive<ConfigureWorker>(configuration => Configure(configuration, Sender));
        Receive<WorkRequest>(request =>
        {
            _queue.Enqueue((request, Sender));
            StartNext();
        });
    }

    private void Busy()
    {
        Receive<WorkRequest>(request => _queue.Enqueue((request, Sender)));
        Receive<Finished>(HandleFinished);
        Receive<ConfigureWorker>(DeferConfiguration);
    }

    private void DeferConfiguration(ConfigureWorker configuration) => _pendingConfigurations.Enqueue((configuration, Sender));

    /// <summary>Starts the oldest deferred configuration; false when none waits.</summary>
    private bool ConfigureNextPending()
    {
        if (!_pendingConfigurations.TryDequeue(out var pending)) return false;
        Configure(pending.Configuration, pending.ReplyTo);
        return true;
    }

    private void Configure(ConfigureWorker configuration, IActorRef replyTo)
    {
        _computeThread ??= new ComputeThread($"compute-{_name}", _torchThreads);
        // A configuration starts a run afresh (a worker node outlives coordinators): its round numbers start
        // over, and requests queued for the previous run have been reassigned by now.
        _latestRound = 0;
        _queue.Clear();
        var previous = _trainer;
        _trainer = null;
        _computeThread.Run(() =>
        {
            previous?.Dispose();
            return new ShardTrainer(configuration);
        }).ContinueWith(task => task.IsCompletedSuccessfully
                ? new Configured(task.Result, replyTo)
                : (object)new ConfigurationFailed(task.Exception?.GetBaseException().Message ?? "cancelled", replyTo),
            TaskContinuationOptions.ExecuteSynchronously).PipeTo(Self);
        Become(Configuring);
    }

    private void HandleConfigured(Configured configured)
    {
        _trainer = configured.Trainer;
        configured.ReplyTo.Tell(new WorkerConfigured(_name, _trainer.StateLength, _trainer.TrainCount, _trainer.TestCount, _trainer.DataFingerprint,
            _trainer.ParameterCount, _trainer.ComputeWarning));
        Become(Idle);
        if (!ConfigureNextPending()) StartNext();
    }

    private void StartNext()
    {
        // In synchronous mode the coordinator opens a round only when the previous one is complete, so a queued
        // request of an older round than another queued one is already done elsewhere (a straggler's backlog): skip
        // it, not just the ones older than the last started. Under bounded staleness several rounds are open at once
        // and each request names the oldest still open: only rounds older than that are over.
        foreach (var queued in _queue) _latestRound = Math.Max(_latestRound, OpenFrom(queued.Request));
        while (_queue.TryDequeue(out var next))
        {
            var (request, replyTo) = next;
            _latestRound = Math.Max(_latestRound, OpenFrom(request));
            if (request.Round < _latestRound)
            {
                // An older round, finished without us. Still answered: the coordinator counts each request as
                // outstanding until its answer, and a straggler that never answered would never look idle again.
                replyTo.Tell(new WorkFailed(request.Round, request.Shard, $"skipped: round {request.Round} is over, the coordinator has moved on to round {_latestRound}"));
                continue;
            }
            var trainer = _trainer!;
            if (!trainer.TryLoadWeights(request))
            {
                replyTo.Tell(new WeightsMissing(request.Round, request.Shard, trainer.WeightsVersion));
                continue;
            }
            var shardNumber = request.Kind == WorkKind.Train ? ++_trainingShards : _trainingShards;
            if (request.Kind == WorkKind.Train && _faults.Fires(FaultKind.Crash, shardNumber))
            {
                Crash(shardNumber);
                return;
            }
            if (request.Kind == WorkKind.Train && _faults.Fires(FaultKind.Hang, shardNumber))
            {
                _log.Warning("Worker {0}: fault plan hang@{1}: answering nothing from now on", _name, shardNumber);
                Become(Hung);
                return;
            }
            var poison = request.Kind == WorkKind.Train && _faults.Fires(FaultKind.Nan, shardNumber);
            var slowdown = _faults.Slowdown(shardNumber);
            var crashAfter = request.Kind == WorkKind.Train && _faults.Fires(FaultKind.CrashAfterAnswer, shardNumber) ? shardNumber : (long?)null;
            _computeThread!.Run(() => (object)FaultEffects.Apply(trainer.Run(request), poison, slowdown, Thread.Sleep))
                .ContinueWith(task => new Finished(task.IsCompletedSuccessfully
                    ? task.Result
                    : new WorkFailed(request.Round, request.Shard, task.Exception?.GetBaseException().Message ?? "cancelled"), replyTo, crashAfter),
                    TaskContinuationOptions.ExecuteSynchronously)
                .PipeTo(Self);
            Become(Busy);
            return;
        }
        Become(Idle);
    }

    /// <summary>The oldest round the coordinator still had open when it sent <paramref name="request"/>: its own in synchronous mode.</summary>
    private static long OpenFrom(WorkRequest request) => request.OldestOpenRound > 0 ? request.OldestOpenRound : request.Round;

    /// <summary>A rehearsed hang: alive and reachable (the node still heartbeats), but nothing is ever answered.</summary>
    private void Hung() => ReceiveAny(_ => { });

    /// <summary>
    /// A rehearsed crash. A worker node ends its process at once, as a SIGKILL would; an in-process worker stops
    /// (the coordinator watches it and reassigns its shard).
    /// </summary>
    private void Crash(long shardNumber)
    {
        var message = $"worker {_name}: fault plan crash@{shardNumber}";
        _log.Error(message);
        if (_faults.CrashExitsProcess)
        {
            Console.Error.WriteLine(message + ": ending the process");
            Environment.FailFast(message);
        }
        Context.Stop(Self);
    }

    private void HandleFinished(Finished finished)
    {
        if (finished.Answer is WorkFailed failed) _log.Warning("Worker {0} failed shard {1}: {2}", _name, failed.Shard, failed.Reason);
        finished.ReplyTo.Tell(finished.Answer);
        if (finished.CrashAfter is { } shardNumber)
        {
            // A moment for the answer to leave the node (a worker node parks the result and sends its handle first).
            Task.Delay(TimeSpan.FromMilliseconds(500)).ContinueWith(_ => new CrashNow(shardNumber), TaskContinuationOptions.ExecuteSynchronously).PipeTo(Self);
            Become(() => Receive<CrashNow>(crash => Crash(crash.ShardNumber)));
            return;
        }
        if (!ConfigureNextPending()) StartNext();
    }

    protected override void PostStop()
    {
        // Let queued work finish before the replica goes, then free the thread.
        var trainer = _trainer;
        if (_computeThread is { } thread)
        {
            thread.Run(() =>
            {
                trainer?.Dispose();
                return 0;
            });
            thread.Dispose();
        }
        base.PostStop();
    }

    // Messages to self never leave the process, so they are exempt from serialization checks.
    private sealed record Configured(ShardTrainer Trainer, IActorRef ReplyTo) : INoSerializationVerificationNeeded;
    private sealed record ConfigurationFailed(string Reason, IActorRef ReplyTo) : INoSerializationVerificationNeeded;
    private sealed record Finished(object Answer, IActorRef ReplyTo, long? CrashAfter = null) : INoSerializationVerificationNeeded;

    private sealed record CrashNow(long ShardNumber) : INoSerializationVerificationNeeded;
}
