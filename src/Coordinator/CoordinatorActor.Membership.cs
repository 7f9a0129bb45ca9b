using Akka.Actor;
using Akka.Event;
using Distributed.Protocol;

namespace Distributed.Coordinator;

// Who takes part: workers register, are configured and checked against the run's model and data, become live,
// are rejected, or go. A shard held by a worker that goes is reassigned at once.
public sealed partial class CoordinatorActor
{
    private void HandleRegisterWorker(RegisterWorker message)
    {
        if (!_roster.Register(Sender, message.WorkerName)) return;
        Context.Watch(Sender);
        Sender.Tell(_configuration);
        _log.Info("Worker {0} registered; configuring it", message.WorkerName);
        PublishStatus();
    }

    private void HandleWorkerConfigured(WorkerConfigured message)
    {
        if (!_roster.TryGet(Sender, out var worker)) return;
        var problem = DataShape.Check(message, _weights.StateLength, _data);
        if (problem is not null)
        {
            Notify($"worker {message.WorkerName} {problem}; ignoring it");
            worker.Reject(problem);
            return;
        }
        _data ??= new DataShape(message.TrainCount, message.TestCount);
        if (message.ParameterCount > 0) _parameterCount = message.ParameterCount;
        worker.State = WorkerState.Live;
        Notify($"worker {message.WorkerName} is live ({_roster.LiveCount} live)");
        // Once per distinct warning: N in-process workers on one CPU would otherwise say the same N times.
        if (message.ComputeWarning is { } warning && _computeWarnings.Add(warning)) Notify($"warning from worker {message.WorkerName}: {warning}");
        PublishStatus();
    }

    private void HandleWorkerUnavailable(WorkerUnavailable message)
    {
        if (!_roster.TryGet(Sender, out var worker)) return;
        worker.Reject(message.Reason);
        Notify($"worker {message.WorkerName} cannot work: {message.Reason}");
        PublishStatus();
        if (_data is null && _roster.Count >= _plan.MinimumWorkers && _roster.AllRejected)
            Fail($"no worker could start: {message.Reason}");
    }

    private void HandleWorkerTerminated(Terminated message)
    {
        if (!_roster.Remove(message.ActorRef, out var worker)) return;
        Notify($"worker {worker.Name} is gone ({_roster.LiveCount} live)");
        PublishStatus();
        // Every open round: under bounded staleness the worker may hold a shard of any open step (at most one in all).
        foreach (var round in _book.OpenRounds.ToList())
        {
            foreach (var shard in round.HeldBy(message.ActorRef).ToList()) Reassign(shard, $"its worker {worker.Name} is gone");
        }
    }
}
