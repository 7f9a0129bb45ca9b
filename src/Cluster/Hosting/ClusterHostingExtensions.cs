using Akka.Actor;
using Akka.Event;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Akka.Remote.Transport.DotNetty;

namespace Distributed.Cluster.Hosting;

public static class ClusterHostingExtensions
{
    /// <summary>
    /// Akka.Remote frames stay small on purpose: tensors travel on the tensor channel, so the biggest message is a
    /// shard's sample indices (an evaluation shard of 10,000 test samples is about 30 KB). 1 MiB leaves room for
    /// larger test sets without letting a big frame hold up heartbeats.
    /// </summary>
    public const long MaximumFrameSize = 1 << 20;

    /// <summary>
    /// Remoting and clustering for one node of <paramref name="role"/> (comma-separated for a node of several roles,
    /// e.g. "worker,server"): bound to the configured address, seed
    /// nodes from configuration (none: the node forms the cluster by joining itself), optional mutual TLS, a
    /// failure detector that calls a silent peer unreachable within seconds, and the keep-oldest split brain
    /// resolver restricted to the coordinator role. Why keep-oldest: training needs the coordinator, so in any
    /// partition the side holding the (one, oldest) coordinator must survive even when it is the minority, and a
    /// side of workers without it must down itself rather than linger. down-if-alone is off because a lone
    /// coordinator is still the cluster (its workers may come back or be replaced). Workers that downed
    /// themselves start a fresh ActorSystem and rejoin (see the worker host).
    /// </summary>
    public static AkkaConfigurationBuilder WithDistributedCluster(this AkkaConfigurationBuilder builder,
        ClusterSettings settings, string role, ClusterTls? tls)
    {
        var remote = new RemoteOptions
        {
            HostName = settings.Hostname,
            Port = settings.Port,
            PublicHostName = settings.AdvertisedHostname,
            MaxFrameSize = MaximumFrameSize,
            EnableSsl = tls is not null,
        };
        if (tls is not null)
        {
            remote.Ssl = new SslOptions
            {
                X509Certificate = tls.Certificate,
                SuppressValidation = false,
                RequireMutualAuthentication = true,
                // Nodes are addressed by IP; trust comes from the cluster authority (or the shared certificate).
                ValidateCertificateHostname = false,
                CustomValidator = (certificate, _, peer, _, log) =>
                {
                    var accepted = tls.Accepts(certificate);
                    if (!accepted) log.Warning("Refused TLS peer {0}: its certificate ({1}) is not the cluster's", peer, certificate?.Subject ?? "none");
                    return accepted;
                },
            };
        }
        var seeds = settings.SeedNodes.Count == 0 ? [] : settings.SeedAddresses(settings.Port).ToArray();
        return builder
            .AddHocon(FailureDetection(settings), HoconAddMode.Prepend)
            .WithRemoting(remote)
            .WithClustering(new ClusterOptions
            {
                Roles = role.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                SeedNodes = seeds,
                SplitBrainResolver = new KeepOldestOption { Role = ClusterRoles.Coordinator, DownIfAlone = false },
            })
            .AddStartup((system, _) =>
            {
                // No seeds configured: this node is the first one and forms the cluster with itself.
                if (seeds.Length == 0)
                {
                    var cluster = Akka.Cluster.Cluster.Get(system);
                    cluster.Join(cluster.SelfAddress);
                }
            });
    }

    private static string FailureDetection(ClusterSettings settings) => $$"""
        akka.cluster {
          failure-detector {
            heartbeat-interval = {{Ms(settings.HeartbeatInterval)}}
            acceptable-heartbeat-pause = {{Ms(settings.AcceptableHeartbeatPause)}}
          }
          split-brain-resolver.stable-after = {{Ms(settings.DowningStableAfter)}}
          # A worker waiting for its coordinator keeps trying, quickly.
          retry-unsuccessful-join-after = 2s
          shutdown-after-unsuccessful-join-seed-nodes = off
          run-coordinated-shutdown-when-down = on
        }
        # After a partition heals, reconnect at once instead of after the default 5 s gate.
        akka.remote.retry-gate-closed-for = 1s
        {{UntrustedMode}}
        """;

    /// <summary>
    /// Paths a peer may reach by actor selection: what Akka.Cluster and remote watch select (join and gossip go to
    /// the cluster daemon, heartbeats to the heartbeat receiver and the remote watcher) and the worker endpoint,
    /// which the coordinator finds with Identify. A selection of any other path is dropped (a peer can still name an
    /// actor by its path, but then only protocol messages and Akka's own get through the closed wire). Sharding's own
    /// serializers (envelopes, coordinator state, distributed data) are Akka's and stay open.
    /// </summary>
    public static IReadOnlyList<string> TrustedSelectionPaths { get; } =
    [
        "/system/cluster/core/daemon",
        "/system/cluster/heartbeatReceiver",
        "/system/remote-watcher",
        "/user/" + ClusterRoles.WorkerEndpointName,
        // Server nodes (`--server-nodes`): sharding of the range servers on role server, its coordinator singleton
        // (and the singleton manager's handover between server nodes) and its distributed-data replicator.
        $"/system/sharding/{ClusterRoles.RangeServerTypeName}Coordinator",
        $"/system/sharding/{ClusterRoles.RangeServerTypeName}Coordinator/singleton/coordinator",
        $"/system/sharding/{ClusterRoles.Server}Replicator",
        "/system/sharding/replicator",
    ];

    /// <summary>
    /// Untrusted mode: a peer cannot deploy actors here, stop actors (PoisonPill, Terminate; Kill, which Akka.NET does
    /// not count as harmful, is refused by <see cref="AllowedMiscSerializer"/>), or select any actor outside
    /// <see cref="TrustedSelectionPaths"/>. Remote watch (Watch/Unwatch, termination notices) still works, which is
    /// what the cluster and the proxies need.
    /// </summary>
    private static string UntrustedMode =>
        $"akka.actor.serializers.akka-misc = \"{typeof(AllowedMiscSerializer).AssemblyQualifiedName}\"\n" +
        $"akka.remote.untrusted-mode = on\nakka.remote.trusted-selection-paths = [{string.Join(", ", TrustedSelectionPaths.Select(p => $"\"{p}\""))}]";

    private static string Ms(TimeSpan span) => $"{(long)span.TotalMilliseconds}ms";
}
