using Akka.Actor;

namespace Distributed.Cluster;

/// <summary>The kinds of node (a server node holds parameter-server ranges, `distributed-worker --role server`). The split brain resolver keeps the side that holds the oldest coordinator.</summary>
public static class ClusterRoles
{
    public const string Coordinator = "coordinator";
    public const string Worker = "worker";
    public const string Server = "server";

    /// <summary>Sharding type name of the parameter-server ranges hosted on server nodes (one entity per range).</summary>
    public const string RangeServerTypeName = "range-server";

    /// <summary>Name of the actor every worker node serves at /user/{name}; the coordinator looks it up on each new member.</summary>
    public const string WorkerEndpointName = "worker";

    /// <summary>Name a worker node goes by in notices and reports: its node's address.</summary>
    public static string WorkerName(Address address) => $"worker@{address.Host}:{address.Port}";
}
