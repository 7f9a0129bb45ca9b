using Akka.Actor;
using Distributed.Cluster;
using Distributed.Cluster.Transport;
using Distributed.ParameterServer.Nodes;
using Distributed.Training.Workers;
using Distributed.Worker.Faults;
using Microsoft.Extensions.Hosting;

namespace Distributed.Training.Hosting;

/// <summary>
/// Where a run executes, decided in this one place: with no cluster settings, a local ActorSystem whose workers
/// run in-process; with them, the cluster's coordinator node, its tensor channel, and workers found among the
/// members. Everything after this (the run, checkpoints, observability) is the same in both modes.
/// </summary>
public sealed class TrainingNode : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly TensorChannel? _channel;

    private TrainingNode(IHost host, TensorChannel? channel, IWorkerSource workers, string? description, ServerNodes? servers = null)
    {
        Servers = servers;
        _host = host;
        _channel = channel;
        Workers = workers;
        Description = description;
        System = TrainingHost.ActorSystemOf(host);
    }

    public ActorSystem System { get; }
    public IWorkerSource Workers { get; }

    /// <summary>The server nodes holding the parameter-server ranges (`--server-nodes`); null when they live on this node.</summary>
    public ServerNodes? Servers { get; }

    /// <summary>This node's tensor channel (null in one process): its byte counters show what the node moved.</summary>
    public TensorChannel? Channel => _channel;

    /// <summary>The cluster node's address, tensor channel and TLS, for the run's banner (null in one process).</summary>
    public string? Description { get; }

    /// <param name="faults">Failures in-process workers rehearse, by worker name (`train --fault`); cluster workers take their own.</param>
    public static async Task<TrainingNode> StartAsync(ClusterSettings? cluster, TrainingJob job, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, FaultPlan>? faults = null)
    {
        if (cluster is null)
        {
            var local = TrainingHost.BuildLocal();
            await local.StartAsync(cancellationToken);
            return new TrainingNode(local, null, InProcessWorkers.Of(job, faults), null);
        }
        var tls = ClusterTls.Load(cluster.Tls);
        var channel = TensorChannel.Start(cluster.Hostname, cluster.TensorPort, cluster.AdvertisedHostname, tls,
            settings: cluster.TensorChannel);
        var host = TrainingHost.Build(cluster, tls);
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch
        {
            host.Dispose();
            await channel.DisposeAsync();
            throw;
        }
        var system = TrainingHost.ActorSystemOf(host);
        var description = $"Coordinator node {Akka.Cluster.Cluster.Get(system).SelfAddress}, tensor channel {channel.AdvertisedHost}:{channel.Port}, " +
            $"TLS {(tls is null ? "off" : "on")}; waiting for {job.Plan.MinimumWorkers} worker(s)" +
            (cluster.ServerNodes > 0 ? $" and {cluster.ServerNodes} server node(s) holding {job.ParameterServers} parameter-server ranges" : "") + " to join";
        var servers = cluster.ServerNodes > 0 ? new ServerNodes(system, channel, cluster.ServerNodes, job.Plan.JoinTimeout) : null;
        return new TrainingNode(host, channel, new ClusterWorkers(channel, job.Plan.MinimumWorkers, servers is null ? 0 : job.ParameterServers), description, servers);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(CancellationToken.None);
        _host.Dispose();
        if (_channel is not null) await _channel.DisposeAsync();
    }
}
