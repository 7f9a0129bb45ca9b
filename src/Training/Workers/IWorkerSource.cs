using Akka.Actor;

namespace Distributed.Training.Workers;

/// <summary>
/// Where a run's workers come from: started in this process, or found among the cluster's members. The run and
/// the coordinator do not care which; the mode is decided once, by choosing the source.
/// </summary>
public interface IWorkerSource
{
    /// <summary>How the run's first line describes its workers.</summary>
    string Description { get; }

    /// <summary>Starts offering workers to <paramref name="coordinator"/>; returns the actors to stop when the run ends.</summary>
    IReadOnlyList<IActorRef> Attach(ActorSystem system, IActorRef coordinator, string runId);
}
