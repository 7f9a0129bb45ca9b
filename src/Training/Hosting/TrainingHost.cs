using Akka.Actor;
using Distributed.Cluster;
using Distributed.Cluster.Hosting;
using Distributed.ParameterServer.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Distributed.Training.Hosting;

/// <summary>The host a training run lives in: a local ActorSystem in one-process mode, the cluster's coordinator node otherwise.</summary>
public static class TrainingHost
{
    public static IHost Build(ClusterSettings? cluster, ClusterTls? tls, string akkaLogLevel = "WARNING") =>
        // With server nodes, the coordinator's node reaches the range servers through a proxy of their shard region.
        NodeHost.Build(cluster, ClusterRoles.Coordinator, tls, akkaLogLevel, cluster is { ServerNodes: > 0 } ? akka => akka.WithRangeServerProxy() : null);

    public static IHost BuildLocal(string akkaLogLevel = "WARNING") => Build(null, null, akkaLogLevel);

    public static ActorSystem ActorSystemOf(IHost host) => host.Services.GetRequiredService<ActorSystem>();
}
