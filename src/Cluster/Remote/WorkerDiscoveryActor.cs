using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Distributed.Cluster.Transport;
using Distributed.Protocol;
using static Akka.Cluster.ClusterEvent;

namespace Distributed.Cluster.Remote;

/// <summary>
/// Finds workers through cluster membership, so no node needs a list of the others: every member with the
/// worker role that comes up is asked for its endpoint actor, and a <see cref="RemoteWorkerProxy"/> registers it
/// with the coordinator. A member that becomes unreachable or leaves loses its proxy at once (the coordinator
/// then reassigns its shard); if it becomes reachable again, it is registered again.
/// </summary>
public sealed class WorkerDiscoveryActor : ReceiveActor, IWithTimers
{
    private const int IdentifyAttempts = 30;
    private static readonly TimeSpan IdentifyRetry = TimeSpan.FromSeconds(1);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly IActorRef _coordinator;
    private readonly TensorChannel _channel;
    private readonly Dictionary<UniqueAddress, IActorRef> _proxies = new();
    private readonly Dictionary<UniqueAddress, int> _identifyAttempts = new();
    private readonly HashSet<UniqueAddress> _unreachable = new();
    private readonly Dictionary<string, UniqueAddress> _pending = new(StringComparer.Ordinal);
    private int _proxyCounter;

    private readonly int _directReaders;

    /// <param name="directReaders">K when K range servers on server nodes fetch the workers' results themselves; 0 otherwise.</param>
    public WorkerDiscoveryActor(IActorRef coordinator, TensorChannel channel, int directReaders = 0)
    {
        _directReaders = directReaders;
        _coordinator = coordinator;
        _channel = channel;
        Receive<MemberUp>(up => Discover(up.Member));
        Receive<MemberWeaklyUp>(_ => { });
        Receive<ReachableMember>(reachable =>
        {
            _unreachable.Remove(reachable.Member.UniqueAddress);
            if (reachable.Member.Status == MemberStatus.Up) Discover(reachable.Member);
        });
        Receive<UnreachableMember>(unreachable =>
        {
            _unreachable.Add(unreachable.Member.UniqueAddress);
            Drop(unreachable.Member.UniqueAddress, "unreachable");
        });
        Receive<MemberRemoved>(removed => Drop(removed.Member.UniqueAddress, "removed"));
        Receive<MemberLeft>(left => Drop(left.Member.UniqueAddress, "leaving"));
        Receive<MemberExited>(exited => Drop(exited.Member.UniqueAddress, "leaving"));
        Receive<IMemberEvent>(_ => { });
        Receive<ActorIdentity>(HandleIdentity);
        Receive<RetryIdentify>(retry =>
        {
            var member = _cluster.State.Members.FirstOrDefault(m => m.UniqueAddress.Equals(retry.Member));
            if (member is not null && member.Status == MemberStatus.Up) Identify(member.UniqueAddress);
        });
        Receive<Terminated>(terminated =>
        {
            foreach (var (address, proxy) in _proxies.Where(p => p.Value.Equals(terminated.ActorRef)).ToList())
                _proxies.Remove(address);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef coordinator, TensorChannel channel, int directReaders = 0) =>
        Akka.Actor.Props.Create(() => new WorkerDiscoveryActor(coordinator, channel, directReaders));


    protected override void PreStart() =>
        _cluster.Subscribe(Self, InitialStateAsEvents, typeof(IMemberEvent), typeof(IReachabilityEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Discover(Member member)
    {
        if (!member.HasRole(ClusterRoles.Worker) || _proxies.ContainsKey(member.UniqueAddress) || _unreachable.Contains(member.UniqueAddress)) return;
        _identifyAttempts[member.UniqueAddress] = 0;
        Identify(member.UniqueAddress);
    }

    private void Identify(UniqueAddress member)
    {
        _identifyAttempts[member] = _identifyAttempts.GetValueOrDefault(member) + 1;
        // The correlation id crosses the wire, so it is a string (Akka serializes those natively), not the UniqueAddress.
        var correlation = $"{member.Address}#{member.Uid}";
        _pending[correlation] = member;
        Context.ActorSelection(new RootActorPath(member.Address) / "user" / ClusterRoles.WorkerEndpointName).Tell(new Identify(correlation), Self);
    }

    private void HandleIdentity(ActorIdentity identity)
    {
        if (identity.MessageId is not string correlation || !_pending.Remove(correlation, out var member)
            || _proxies.ContainsKey(member) || _unreachable.Contains(member)) return;
        if (identity.Subject is not { } endpoint)
        {
            // The node is up but its worker endpoint is not started yet (or the ask got lost): ask again, a while.
            if (_identifyAttempts.GetValueOrDefault(member) < IdentifyAttempts)
                Timers.StartSingleTimer($"identify-{member}", new RetryIdentify(member), IdentifyRetry);
            else
                _log.Warning("Member {0} has the worker role but no /user/{1} actor; ignoring it", member.Address, ClusterRoles.WorkerEndpointName);
            return;
        }
        var name = ClusterRoles.WorkerName(member.Address);
        var proxy = Context.ActorOf(RemoteWorkerProxy.Props(endpoint, name, _coordinator, _channel, _directReaders), $"proxy-{++_proxyCounter}");
        Context.Watch(proxy);
        _proxies[member] = proxy;
        _log.Info("Discovered {0}", name);
    }

    private void Drop(UniqueAddress member, string why)
    {
        _identifyAttempts.Remove(member);
        if (!_proxies.Remove(member, out var proxy)) return;
        _log.Info("Worker {0} is {1}; dropping it", ClusterRoles.WorkerName(member.Address), why);
        Context.Stop(proxy);
    }

    private sealed record RetryIdentify(UniqueAddress Member);
}
