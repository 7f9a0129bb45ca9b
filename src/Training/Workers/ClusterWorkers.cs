using Akka.Actor;
using Distributed.Cluster.Remote;
using Distributed.Cluster.Transport;

namespace Distributed.Training.Workers;

/// <summary>The cluster mode: every member with the worker role that comes up is offered to the coordinator through a proxy.</summary>
/// <param name="directReaders">With range servers on server nodes, their number K: workers' results go to them directly.</param>
public sealed class ClusterWorkers(TensorChannel channel, int minimumWorkers, int directReaders = 0) : IWorkerSource
{
    public string Description => $"cluster workers (at least {minimumWorkers})";

    public IReadOnlyList<IActorRef> Attach(ActorSystem system, IActorRef coordinator, string runId) =>
        [system.ActorOf(WorkerDiscoveryActor.Props(coordinator, channel, directReaders), $"worker-discovery-{runId}")];
}
