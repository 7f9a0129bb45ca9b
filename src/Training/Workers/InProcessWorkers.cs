using Akka.Actor;
using Distributed.Protocol;
using Distributed.Worker;
using Distributed.Worker.Faults;

namespace Distributed.Training.Workers;

/// <summary>
/// The one-process mode: <paramref name="count"/> worker actors next to the coordinator, each with its own compute
/// thread, and each with the failures it rehearses, if any (<paramref name="faults"/>, by worker name).
/// </summary>
public sealed class InProcessWorkers(int count, int threadsPerWorker, IReadOnlyDictionary<string, FaultPlan>? faults = null) : IWorkerSource
{
    public static InProcessWorkers Of(TrainingJob job, IReadOnlyDictionary<string, FaultPlan>? faults = null) => new(job.Workers, job.ThreadsPerWorker, faults);

    public string Description => $"{count} in-process workers x {threadsPerWorker} threads";

    public IReadOnlyList<IActorRef> Attach(ActorSystem system, IActorRef coordinator, string runId)
    {
        var workers = new List<IActorRef>();
        for (var i = 0; i < count; i++)
        {
            var name = $"worker-{i}";
            var worker = system.ActorOf(WorkerActor.Props(name, threadsPerWorker, faults?.GetValueOrDefault(name)), $"{name}-{runId}");
            coordinator.Tell(new RegisterWorker(name), worker);
            workers.Add(worker);
        }
        return workers;
    }
}
