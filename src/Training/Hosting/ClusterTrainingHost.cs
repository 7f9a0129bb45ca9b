using Akka.Hosting;
using Distributed.Cluster;
using Distributed.Cluster.Hosting;
using Distributed.Protocol.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Distributed.Training.Hosting;

/// <summary>The cluster mode's coordinator node: the same actors as one-process mode, in an ActorSystem that is a cluster member with the coordinator role.</summary>
public static class ClusterTrainingHost
{
    public static IHost Build(ClusterSettings settings, ClusterTls? tls, string akkaLogLevel = "WARNING")
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddCommandOwnedLifetime();
        builder.Services.AddAkka(ClusterSettings.SystemName, akka => akka
            // The command stops the run on SIGTERM (step, checkpoint, exit); Akka's CLR exit hook would terminate the
            // ActorSystem first and leave the run waiting on actors that are gone.
            .AddHocon($"akka.loglevel = {akkaLogLevel}\nakka.stdout-loglevel = {akkaLogLevel}\nakka.coordinated-shutdown.run-by-clr-shutdown-hook = off",
                HoconAddMode.Prepend)
            .AddProtocolSerialization()
            .WithDistributedCluster(settings, ClusterRoles.Coordinator, tls));
        return builder.Build();
    }
}
