using Akka.Actor;
using Distributed.ParameterServer;
using Distributed.Protocol;

namespace Distributed.Simulation;

/// <summary>
/// What the coordinator sees as its parameter server in a simulation: the real <see cref="ParameterServerGroup"/>
/// with K real <see cref="RangeServerActor"/>s (two-phase step, averaging and SGD on the small state, 16 floats or
/// more per server), with its answers delivered after the time K servers of the modeled size would take.
/// </summary>
public sealed class SimulatedServerGroup : ReceiveActor
{
    private readonly SimulatedCluster _cluster;
    private readonly double _bytesPerSecond;
    private readonly IActorRef _server;
    private IActorRef _coordinator = ActorRefs.Nobody;
    private double _answerAt;

    public SimulatedServerGroup(SimulatedCluster cluster, ParameterServerSetup setup, double bytesPerSecond)
    {
        _cluster = cluster;
        _bytesPerSecond = bytesPerSecond;
        _server = CreateServer(cluster, setup);
        Receive<ApplyStep>(HandleApplyStep);
        Receive<StepApplied>(Answer);
        Receive<ContributionsRefused>(Answer);
        Receive<StepRefused>(Answer);
        Receive<GetParameters>(message => _server.Forward(message));
    }

    public static Props Props(SimulatedCluster cluster, ParameterServerSetup setup, double serverBytesPerSecond) =>
        Akka.Actor.Props.Create(() => new SimulatedServerGroup(cluster, setup, serverBytesPerSecond)).WithDispatcher(InlineDispatcherConfigurator.Id);

    /// <summary>The K real range servers behind the timing, and their group, all on the simulation's inline dispatcher.</summary>
    private static IActorRef CreateServer(SimulatedCluster cluster, ParameterServerSetup setup) =>
        Context.ActorOf(ParameterServerGroup.Props(setup with { Servers = cluster.Plan.Servers },
                range => RangeServerActor.Props(range).WithDispatcher(InlineDispatcherConfigurator.Id))
            .WithDispatcher(InlineDispatcherConfigurator.Id), "servers");

    private void HandleApplyStep(ApplyStep step)
    {
        _coordinator = Sender;
        _answerAt = _cluster.Now + ServerSeconds(_cluster.Plan, step.Shards.Length, _bytesPerSecond, _cluster.Links.LatencySeconds);
        // Inline: the real server answers into this mailbox right after this message.
        _server.Tell(step, Self);
    }

    private void Answer(object answer) => _cluster.At(_answerAt, _coordinator, answer, Self);

    /// <summary>
    /// Time from ApplyStep to the coordinator holding the answer. Each server averages the shards' slices and
    /// applies SGD at <paramref name="bytesPerSecond"/> of gradient read; the servers work in parallel. On the
    /// direct path the group also tells the servers to apply and collects their votes, then commits and collects
    /// their acknowledgements (two round trips); on the coordinator path the server is in the coordinator's process.
    /// </summary>
    public static double ServerSeconds(TrafficPlan plan, int shards, double bytesPerSecond, double latencySeconds)
    {
        var aggregate = shards * (double)plan.SliceBytes.Max() / bytesPerSecond;
        return plan.Path == TransferPath.Coordinator ? aggregate : aggregate + 4 * latencySeconds;
    }
}
