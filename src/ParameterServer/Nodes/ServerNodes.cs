using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Distributed.Cluster.Transport;

namespace Distributed.ParameterServer.Nodes;

/// <summary>
/// The coordinator's node's view of the server nodes (<c>--server-nodes N</c>): it waits until N server nodes have
/// registered their shard regions with the sharding coordinator, so the ranges are spread over all of them rather than
/// all given to the first one up, then makes a <see cref="RangeServerLink"/> per range for the group.
/// </summary>
public sealed class ServerNodes(ActorSystem system, TensorChannel channel, int count, TimeSpan openTimeout)
{
    private IActorRef Region => ActorRegistry.For(system).Get<RangeServerEntity>();

    /// <summary>Waits for <c>count</c> server regions; fails naming how many there are when <paramref name="timeout"/> passes.</summary>
    public async Task WaitAsync(TimeSpan timeout, TextWriter log, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var seen = -1;
        while (true)
        {
            int regions;
            try
            {
                // Answered by the sharding coordinator (empty while the proxy has not found it yet).
                regions = (await Region.Ask<CurrentRegions>(GetCurrentRegions.Instance, TimeSpan.FromSeconds(5), cancellationToken)).Regions.Count;
            }
            catch (AskTimeoutException)
            {
                regions = 0;
            }
            if (regions != seen) log.WriteLine($"Server nodes: {regions} of {count} registered");
            seen = regions;
            if (regions >= count) return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"only {regions} of --server-nodes {count} server nodes (distributed-worker --role server) registered " +
                    $"within {timeout.TotalSeconds:G} s (--join-timeout)");
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    /// <summary>How the group makes its range servers: links to entities on the server nodes.</summary>
    public Func<RangeServerSetup, Props> Links(int stateLength, int parameterCount)
    {
        var region = Region;
        return setup => RangeServerLink.Props(setup, region, channel, stateLength, parameterCount, openTimeout);
    }
}
