using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Distributed.Cluster;
using Distributed.Cluster.Transport;

namespace Distributed.ParameterServer.Nodes;

/// <summary>
/// How range servers are placed on server nodes: Akka.Cluster.Sharding with role <c>server</c>, one shard per range and
/// one entity per shard (entity id = shard id = the range index), so the coordinator of the sharding spreads the K
/// ranges over the server nodes (least shards first) and nobody places them by hand. The coordinator's node only runs a
/// proxy. Ranges hold the run's state, so they never move while it runs: idle entities are not passivated and the
/// periodic rebalance is off (a server node joining mid-run takes no range); a server node that leaves fails the run.
/// </summary>
public static class RangeServerSharding
{
    public const string TypeName = ClusterRoles.RangeServerTypeName;

    /// <summary>A message for range server <paramref name="server"/>, as the shard region and its proxy take it.</summary>
    public static ShardingEnvelope To(int server, object message) => new(server.ToString(System.Globalization.CultureInfo.InvariantCulture), message);

    /// <summary>The shard region of a server node: it hosts the range servers the sharding coordinator allocates to it.</summary>
    public static AkkaConfigurationBuilder WithRangeServers(this AkkaConfigurationBuilder builder, TensorChannel channel, TextWriter log) =>
        builder.AddHocon(NoRebalance, HoconAddMode.Prepend)
            .WithShardRegion<RangeServerEntity>(TypeName, _ => RangeServerEntity.Props(channel, log), new Extractor(), new ShardOptions
            {
                Role = ClusterRoles.Server,
                StateStoreMode = StateStoreMode.DData,
                RememberEntities = false,
                ShouldPassivateIdleEntities = false,
            });

    /// <summary>The coordinator node's way in: a proxy of the region on the server nodes.</summary>
    public static AkkaConfigurationBuilder WithRangeServerProxy(this AkkaConfigurationBuilder builder) =>
        builder.AddHocon(NoRebalance, HoconAddMode.Prepend)
            .WithShardRegionProxy<RangeServerEntity>(TypeName, ClusterRoles.Server, new Extractor());

    // A rebalance would stop a range server mid-run and lose its state; the interval is a year.
    private const string NoRebalance = "akka.cluster.sharding.rebalance-interval = 365d";

    /// <summary>
    /// Entity id and shard id are both the range index. Every message travels in a <see cref="ShardingEnvelope"/>, which
    /// Akka unwraps itself (its entity id, then <see cref="ShardId(string, object?)"/>); nothing else is routed.
    /// </summary>
    private sealed class Extractor : IMessageExtractor
    {
        public string? EntityId(object message) => null;

        public object? EntityMessage(object message) => message;

        public string? ShardId(object message) => null;

        public string ShardId(string entityId, object? messageHint = null) => entityId;
    }
}
