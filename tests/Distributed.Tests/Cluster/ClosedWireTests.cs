using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Distributed.Cluster;
using Distributed.Cluster.Hosting;
using Distributed.Protocol;
using Distributed.Protocol.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Distributed.Tests.Cluster;

/// <summary>
/// Real frames over Akka.Remote from a peer that still has Akka's open serializers (JSON with type names, raw
/// bytes) and sends what untrusted mode exists to stop. A cluster node built as the executables build it decodes
/// only protocol messages and Akka's own; the same frames reach a node with Akka's defaults (the control showing
/// they are real, decodable frames).
/// </summary>
[Collection(ClusterProcessCollection.Name)]
public sealed class ClosedWireTests : IAsyncDisposable
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);
    private readonly List<IHost> _hosts = new();
    private readonly List<ActorSystem> _systems = new();

    [Fact]
    public async Task A_cluster_node_drops_frames_for_Akkas_open_serializers_and_kill_messages_and_keeps_its_actor()
    {
        var port = NodeProcess.FreePort();
        var inbox = new Inbox();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddAkka(ClusterSettings.SystemName, akka => akka
            .AddHocon("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR", HoconAddMode.Prepend)
            .AddProtocolSerialization()
            .WithDistributedCluster(new ClusterSettings { Port = port }, ClusterRoles.Worker, null)
            .WithActors((system, _) => system.ActorOf(Props.Create(() => new Recorder(inbox)), ClusterRoles.WorkerEndpointName)));
        var host = builder.Build();
        _hosts.Add(host);
        await host.StartAsync();

        var peer = Peer();
        var target = Resolve(peer, $"akka.tcp://{ClusterSettings.SystemName}@127.0.0.1:{port}/user/{ClusterRoles.WorkerEndpointName}");
        SendEverything(peer, target, $"akka.tcp://{ClusterSettings.SystemName}@127.0.0.1:{port}");

        // The association is ordered: once the closing protocol message is in, every earlier frame has been handled.
        var received = await inbox.UntilAsync(m => m is WorkFailed { Reason: "last" }, Within);
        Assert.Equal(["first", "last"], received.OfType<WorkFailed>().Select(f => f.Reason));
        Assert.DoesNotContain(received, m => m is Smuggled or byte[]);
        // Kill (which stops an actor by default) and PoisonPill were dropped: the endpoint is still the same actor.
        Assert.Equal(0, inbox.Restarts);
        Assert.False(inbox.Stopped, "a Kill or PoisonPill from a peer stopped the worker endpoint");
    }

    [Fact]
    public async Task The_same_frames_reach_a_node_with_Akkas_default_serializers()
    {
        var port = NodeProcess.FreePort();
        var inbox = new Inbox();
        var open = ActorSystem.Create("open", ConfigurationFactory.ParseString($$"""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = {{port}} }
            akka.loglevel = ERROR
            """).WithFallback(Protocol()));
        _systems.Add(open);
        open.ActorOf(Props.Create(() => new Recorder(inbox)), ClusterRoles.WorkerEndpointName);

        var peer = Peer();
        var target = Resolve(peer, $"akka.tcp://open@127.0.0.1:{port}/user/{ClusterRoles.WorkerEndpointName}");
        target.Tell(new WorkFailed(0, 0, "first"));
        target.Tell(new Smuggled("built from a type name in JSON"));
        target.Tell(new byte[] { 1, 2, 3 });
        target.Tell(new WorkFailed(0, 0, "last"));

        var received = await inbox.UntilAsync(m => m is WorkFailed { Reason: "last" }, Within);
        Assert.Contains(received, m => m is Smuggled);
        Assert.Contains(received, m => m is byte[]);
    }

    private static void SendEverything(ActorSystem peer, IActorRef target, string node)
    {
        target.Tell(new WorkFailed(0, 0, "first"));
        target.Tell(new Smuggled("built from a type name in JSON"));
        target.Tell(new byte[] { 1, 2, 3 });
        target.Tell(Kill.Instance);
        target.Tell(PoisonPill.Instance);
        // A selection of a path outside the trusted ones is dropped even when it carries a protocol message.
        peer.ActorSelection($"{node}/user/somebody-else").Tell(new WorkFailed(0, 0, "selected"));
        target.Tell(new WorkFailed(0, 0, "last"));
    }

    /// <summary>A peer with Akka's defaults plus the protocol serializer: what an intruder on the network could run.</summary>
    private ActorSystem Peer()
    {
        var peer = ActorSystem.Create("peer", ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.loglevel = ERROR
            """).WithFallback(Protocol()));
        _systems.Add(peer);
        return peer;
    }

    private static Config Protocol() => ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.distributed-protocol = "{{typeof(ProtocolSerializer).AssemblyQualifiedName}}"
          serialization-bindings { "{{typeof(IProtocolMessage).AssemblyQualifiedName}}" = distributed-protocol }
        }
        """);

    /// <summary>A reference built from a path alone, without asking the node (no Identify, no selection).</summary>
    private static IActorRef Resolve(ActorSystem peer, string path) => ((ExtendedActorSystem)peer).Provider.ResolveActorRef(path);

    public async ValueTask DisposeAsync()
    {
        foreach (var system in _systems) await system.Terminate();
        foreach (var host in _hosts)
        {
            await host.StopAsync(TimeSpan.FromSeconds(10));
            host.Dispose();
        }
    }

    /// <summary>Bound to Akka's JSON serializer on the peer (no binding of ours covers it).</summary>
    public sealed record Smuggled(string Text);

    private sealed class Inbox
    {
        private readonly ConcurrentQueue<object> _messages = new();
        private readonly SemaphoreSlim _arrived = new(0);
        private int _restarts;

        public int Restarts => Volatile.Read(ref _restarts);
        public bool Stopped { get; set; }

        public void Add(object message)
        {
            _messages.Enqueue(message);
            _arrived.Release();
        }

        public void Restarted() => Interlocked.Increment(ref _restarts);

        public async Task<IReadOnlyList<object>> UntilAsync(Func<object, bool> last, TimeSpan within)
        {
            var deadline = DateTime.UtcNow + within;
            while (!_messages.Any(last))
            {
                if (!await _arrived.WaitAsync(deadline - DateTime.UtcNow > TimeSpan.Zero ? deadline - DateTime.UtcNow : TimeSpan.Zero))
                    throw new Xunit.Sdk.XunitException($"the closing message did not arrive within {within.TotalSeconds:0} s; got: {string.Join(", ", _messages)}");
            }
            return _messages.ToList();
        }
    }

    private sealed class Recorder : UntypedActor
    {
        private readonly Inbox _inbox;

        public Recorder(Inbox inbox) => _inbox = inbox;

        protected override void OnReceive(object message) => _inbox.Add(message);

        protected override void PostRestart(Exception reason) => _inbox.Restarted();

        // A restart is counted above; only a real stop should mark the actor stopped.
        protected override void PreRestart(Exception reason, object message) { }

        protected override void PostStop() => _inbox.Stopped = !Context.System.WhenTerminated.IsCompleted;
    }
}
