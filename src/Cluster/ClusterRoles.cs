using Akka.Actor;

namespace Distributed.Cluster;

/// <summary>The two kinds of node. The split brain resolver keeps the side that holds the oldest coordinator.</summary>
public static class ClusterRoles
{
    public const string Coordinator = "coordinator";
    public const string Worker = "worker";

    /// <summary>Name of the actor every worker node serves at /user/{name}; the coordinator looks it up on each new member.</summary>
    public const string WorkerEndpointName = "worker";

    /// <summary>Name a worker node goes by in notices and reports: its node's address.</summary>
    public static string WorkerName(Address address) => $"worker@{address.Host}:{address.Port}";
}
