using Akka.Actor;
using Distributed.Cluster.Remote;
using Distributed.Cluster.Transport;

namespace Distributed.Training.Workers;

/// <summary>The cluster mode: every member with the worker role that comes up is offered to the coordinator through a proxy.</summary>
public sealed class ClusterWorkers(TensorChannel channel, int minimumWorkers) : IWorkerSource
{
    public string Description => $"cluster workers (at least {minimumWorkers})";

    public IReadOnlyList<IActorRef> Attach(ActorSystem system, IActorRef coordinator, string runId) =>
        [system.ActorOf(WorkerDiscoveryActor.Props(coordinator, channel), $"worker-discovery-{runId}")];
}
