using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Hosting;
using Distributed.Cluster;
using Distributed.Cluster.Hosting;
using Distributed.Cluster.Transport;
using Distributed.Cluster.Node;
using Distributed.ParameterServer.Nodes;
using Distributed.Protocol.Serialization;
using Distributed.Worker.Faults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Distributed.Worker.Hosting;

/// <summary>
/// A worker process: one tensor channel for its whole life, and an ActorSystem that joins the cluster and serves
/// /user/worker. When the cluster downs this node (it was cut off from the coordinator, or the coordinator went
/// away) the ActorSystem terminates; the process then starts a fresh one and joins again, so a healed partition
/// or a restarted coordinator gets its worker back without anyone restarting it.
/// The same process is also the server node (`--role server`, or `worker,server` for both on one node): then it joins
/// with the <c>server</c> role and hosts the shard region of parameter-server ranges (<see cref="RangeServerSharding"/>)
/// on the same tensor channel. One executable for both keeps one host, one rejoin loop and one set of settings.
/// </summary>
public static class WorkerNode
{
    /// <param name="faults">Failures this node rehearses (`--fault`); none by default.</param>
    /// <param name="roles">Which of worker and server this node is (default: worker).</param>
    public static async Task RunAsync(ClusterSettings settings, int threads, TextWriter log, CancellationToken cancellationToken, FaultPlan? faults = null,
        NodeRoles? roles = null)
    {
        // SIGTERM (docker stop, kill) and SIGINT end the worker; they must not merely end the current ActorSystem,
        // which would look like a downing and make the loop below rejoin.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        var stop = stopping.Token;
        var tls = ClusterTls.Load(settings.Tls);
        await using var channel = TensorChannel.Start(settings.Hostname, settings.TensorPort, settings.AdvertisedHostname, tls,
            settings: settings.TensorChannel);
        var seeds = string.Join(", ", settings.SeedAddresses(settings.Port));

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopping.Cancel();
        }

        for (var incarnation = 1; !stop.IsCancellationRequested; incarnation++)
        {
            using var host = Build(settings, threads, channel, tls, log, faults, roles ?? NodeRoles.WorkerOnly);
            await host.StartAsync(stop);
            var system = host.Services.GetRequiredService<ActorSystem>();
            var cluster = Akka.Cluster.Cluster.Get(system);
            log.WriteLine($"worker: node {cluster.SelfAddress} (roles {(roles ?? NodeRoles.WorkerOnly).Akka}, incarnation {incarnation}, {threads} threads, tensor channel {channel.AdvertisedHost}:{channel.Port}, TLS {(tls is null ? "off" : "on")}) joining {seeds}");
            cluster.RegisterOnMemberUp(() => log.WriteLine($"worker: {cluster.SelfAddress} is up"));
            try
            {
                await system.WhenTerminated.WaitAsync(stop);
            }
            catch (OperationCanceledException)
            {
                log.WriteLine($"worker: stopping; tensor channel {channel.BytesSent:N0} bytes sent, {channel.BytesReceived:N0} bytes received");
                await host.StopAsync(CancellationToken.None);
                return;
            }
            log.WriteLine($"worker: {cluster.SelfAddress} was removed from the cluster; rejoining with a fresh node");
            await host.StopAsync(CancellationToken.None);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static IHost Build(ClusterSettings settings, int threads, TensorChannel channel, ClusterTls? tls, TextWriter log, FaultPlan? faults,
        NodeRoles roles) =>
        // The process handles SIGTERM itself (above); the host and Akka's CLR exit hook leave signals alone.
        NodeHost.Build(settings, roles.Akka, tls, actors: akka =>
        {
            if (roles.Server) akka.WithRangeServers(channel, log);
            akka.WithActors((system, _) =>
            {
                if (roles.Worker)
                {
                    var name = ClusterRoles.WorkerName(Akka.Cluster.Cluster.Get(system).SelfAddress);
                    system.ActorOf(WorkerEndpointActor.Props(WorkerActor.Props(name, threads, faults), channel, log), ClusterRoles.WorkerEndpointName);
                }
                system.ActorOf(CoordinatorWatchActor.Props(log), "coordinator-watch");
            });
        });
}
