using Akka.Actor;
using Distributed.Cluster;
using Distributed.Cluster.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Distributed.Training.Hosting;

/// <summary>The host a training run lives in: a local ActorSystem in one-process mode, the cluster's coordinator node otherwise.</summary>
public static class TrainingHost
{
    public static IHost Build(ClusterSettings? cluster, ClusterTls? tls, string akkaLogLevel = "WARNING") =>
        NodeHost.Build(cluster, ClusterRoles.Coordinator, tls, akkaLogLevel);

    public static IHost BuildLocal(string akkaLogLevel = "WARNING") => Build(null, null, akkaLogLevel);

    public static ActorSystem ActorSystemOf(IHost host) => host.Services.GetRequiredService<ActorSystem>();
}
