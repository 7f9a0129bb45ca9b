using System.Collections.Concurrent;
using Akka.Actor;
using Distributed.Training.Workers;

namespace Distributed.Bench.Cluster;

/// <summary>Puts a <see cref="TimingTap"/> between the coordinator and the workers of any source, so both modes are measured the same way.</summary>
public sealed class TappedWorkers(IWorkerSource inner, ConcurrentDictionary<long, double> computeByRound) : IWorkerSource
{
    public string Description => inner.Description;

    public IReadOnlyList<IActorRef> Attach(ActorSystem system, IActorRef coordinator, string runId)
    {
        var tap = system.ActorOf(TimingTap.Props(coordinator, computeByRound), $"timing-tap-{runId}");
        return [.. inner.Attach(system, tap, runId), tap];
    }
}
