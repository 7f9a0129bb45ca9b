using Akka.Actor;
using Distributed.Protocol;
using Distributed.Worker;

namespace Distributed.Training.Workers;

/// <summary>The one-process mode: <paramref name="count"/> worker actors next to the coordinator, each with its own compute thread.</summary>
public sealed class InProcessWorkers(int count, int threadsPerWorker) : IWorkerSource
{
    public static InProcessWorkers Of(TrainingJob job) => new(job.Workers, job.ThreadsPerWorker);

    public string Description => $"{count} in-process workers x {threadsPerWorker} threads";

    public IReadOnlyList<IActorRef> Attach(ActorSystem system, IActorRef coordinator, string runId)
    {
        var workers = new List<IActorRef>();
        for (var i = 0; i < count; i++)
        {
            var name = $"worker-{i}";
            var worker = system.ActorOf(WorkerActor.Props(name, threadsPerWorker), $"{name}-{runId}");
            coordinator.Tell(new RegisterWorker(name), worker);
            workers.Add(worker);
        }
        return workers;
    }
}
