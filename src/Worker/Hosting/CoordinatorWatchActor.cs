using Akka.Actor;
using Akka.Cluster;
using static Akka.Cluster.ClusterEvent;

namespace Distributed.Worker.Hosting;

/// <summary>
/// Takes a worker node out of a cluster that has no coordinator left. A coordinator that stops cleanly leaves the
/// cluster, so nothing is unreachable and nobody is downed: without this the workers would stay in a cluster of
/// their own, and the next coordinator (which seeds a new cluster) would never see them. Leaving ends this
/// ActorSystem; the worker host then starts a fresh one that joins the seed nodes again.
/// </summary>
public sealed class CoordinatorWatchActor : ReceiveActor
{
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly HashSet<UniqueAddress> _coordinators = new();

    public CoordinatorWatchActor(TextWriter log)
    {
        Receive<MemberUp>(up =>
        {
            if (up.Member.HasRole(Cluster.ClusterRoles.Coordinator)) _coordinators.Add(up.Member.UniqueAddress);
        });
        Receive<MemberRemoved>(removed =>
        {
            if (!_coordinators.Remove(removed.Member.UniqueAddress) || _coordinators.Count > 0) return;
            log.WriteLine($"worker: coordinator {removed.Member.Address} left the cluster; leaving too, to rejoin the next one");
            _cluster.Leave(_cluster.SelfAddress);
        });
        Receive<IMemberEvent>(_ => { });
    }

    public static Props Props(TextWriter log) => Akka.Actor.Props.Create(() => new CoordinatorWatchActor(log));

    protected override void PreStart() => _cluster.Subscribe(Self, InitialStateAsEvents, typeof(IMemberEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);
}
