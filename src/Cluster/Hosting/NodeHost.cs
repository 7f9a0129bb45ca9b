using Akka.Hosting;
using Distributed.Protocol.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Distributed.Cluster.Hosting;

/// <summary>
/// The one host every node is built with: the one-process trainer, the cluster's coordinator node and each worker
/// node. The same ActorSystem settings everywhere (closed protocol serialization, log level, signals owned by the
/// command); a cluster node adds remoting and clustering with its role.
/// </summary>
public static class NodeHost
{
    /// <param name="cluster">Null for the one-process mode: a plain local ActorSystem.</param>
    /// <param name="actors">Actors to start with the system (a worker node's endpoint).</param>
    public static IHost Build(ClusterSettings? cluster, string role, ClusterTls? tls, string akkaLogLevel = "WARNING",
        Action<AkkaConfigurationBuilder>? actors = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddCommandOwnedLifetime();
        builder.Services.AddAkka(ClusterSettings.SystemName, akka =>
        {
            // The command stops the run on SIGTERM (step, checkpoint, exit); Akka's CLR exit hook would terminate the
            // ActorSystem first and leave the run waiting on actors that are gone.
            akka.AddHocon($"akka.loglevel = {akkaLogLevel}\nakka.stdout-loglevel = {akkaLogLevel}\nakka.coordinated-shutdown.run-by-clr-shutdown-hook = off",
                    HoconAddMode.Prepend)
                .AddProtocolSerialization();
            if (cluster is not null) akka.WithDistributedCluster(cluster, role, tls);
            actors?.Invoke(akka);
        });
        return builder.Build();
    }
}
