using Akka.Actor;
using Distributed.Cluster.Transport;
using Distributed.Protocol;

namespace Distributed.ParameterServer.Nodes;

/// <summary>
/// Stands in, on the coordinator's node, for one range server that lives on a server node (<c>--server-nodes</c>):
/// the <see cref="ParameterServerGroup"/> makes it in place of a local <see cref="RangeServerActor"/> and talks to it
/// with the very same messages, so the two-phase step, the vote and the failure path are unchanged. Arrays cross by
/// handle: the link parks the range's initial state and each step's shard buffers on this node's tensor channel (the
/// server node fetches only its range of each) and fetches what the server parks in return (its tentative range only
/// when the coordinator needs the state's values, the averaged gradient when asked, its state and momentum for
/// checkpoints); otherwise it passes on where the server node serves the range, and the workers fetch it from there.
/// It opens its range through the sharding proxy (the sharding coordinator places it on a server node) and then talks
/// to that entity directly, so its messages keep their order; it watches the entity, and a server node that dies,
/// a fetch that fails or a range that cannot be opened within the open timeout fail it, which fails the group and the run.
/// </summary>
public sealed class RangeServerLink : ReceiveActor, IWithStash, IWithTimers
{
    private readonly RangeServerSetup _setup;
    private readonly IActorRef _region;
    private readonly TensorChannel _channel;
    private readonly int _stateLength;
    private readonly int _parameterCount;
    private readonly TimeSpan _openTimeout;
    private IActorRef _server = ActorRefs.Nobody;
    private string _node = "(not opened)";
    private readonly Queue<TensorHandle> _opening = new();
    // The step sent to the server node and whether the coordinator needs its new values or only where they are served.
    private (long Step, bool HandlesSuffice) _preparing;

    public RangeServerLink(RangeServerSetup setup, IActorRef region, TensorChannel channel, int stateLength, int parameterCount, TimeSpan openTimeout)
    {
        _setup = setup;
        _region = region;
        _channel = channel;
        _stateLength = stateLength;
        _parameterCount = parameterCount;
        _openTimeout = openTimeout;
        Become(Opening);
    }

    public IStash Stash { get; set; } = null!;
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(RangeServerSetup setup, IActorRef region, TensorChannel channel, int stateLength, int parameterCount, TimeSpan openTimeout) =>
        Akka.Actor.Props.Create(() => new RangeServerLink(setup, region, channel, stateLength, parameterCount, openTimeout));

    private string Name => $"range server {_setup.Index} {_setup.Range}";

    protected override void PreStart()
    {
        var state = _channel.Publish(_setup.State);
        var momentum = _channel.Publish(_setup.Momentum);
        var mask = _channel.Publish(_setup.DecayMask);
        foreach (var handle in new[] { state, momentum, mask }) _opening.Enqueue(handle);
        var sgd = _setup.Optimizer;
        _region.Tell(RangeServerSharding.To(_setup.Index, new OpenRange(_setup.Index, _setup.Range.Start, _setup.Range.End, _stateLength, _parameterCount,
            state, momentum, mask, sgd.Momentum, sgd.Nesterov, sgd.WeightDecay)));
        Timers.StartSingleTimer("open", OpenTimedOut.Instance, _openTimeout);
    }

    private void Opening()
    {
        Receive<RangeOpened>(opened =>
        {
            Timers.Cancel("open");
            _server = Context.Watch(Sender);
            _node = opened.Node;
            _opening.Clear();
            Become(Open);
            Stash.UnstashAll();
        });
        Receive<RangeFailed>(failed => throw new InvalidOperationException(failed.Reason));
        Receive<OpenTimedOut>(_ =>
        {
            while (_opening.TryDequeue(out var handle)) _channel.Release(handle);
            throw new TimeoutException($"{Name} was not opened on a server node within {_openTimeout.TotalSeconds:G} s: " +
                "are the --server-nodes server nodes (distributed-worker --role server) up and reachable?");
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Open()
    {
        Receive<PrepareStep>(HandlePrepare);
        Receive<RemoteStepPrepared>(HandleRemotePrepared);
        Receive<CommitStep>(commit => _server.Tell(commit));
        Receive<AbortStep>(abort => _server.Tell(abort));
        Receive<GetRange>(get => _server.Tell(get));
        Receive<RemoteCurrentRange>(HandleRemoteRange);
        // What was fetched, now for the group, which only ever sees one-process messages.
        Receive<StepPrepared>(prepared => Context.Parent.Tell(prepared));
        Receive<CurrentRange>(range => Context.Parent.Tell(range));
        Receive<RangeFailed>(failed => throw new InvalidOperationException(failed.Reason));
        Receive<Status.Failure>(failure => throw new InvalidOperationException($"{Name} on {_node}: {failure.Cause.Message}", failure.Cause));
        Receive<Terminated>(terminated => terminated.ActorRef.Equals(_server), ServerLost);
    }

    /// <summary>
    /// The server node is gone and its range of the state with it: the link fails (so the group and the run fail) and
    /// from then on answers every request for its range with a failure at once, so nothing waits for a node that will
    /// never answer (the run's failure path asks for the state to checkpoint it).
    /// </summary>
    private void ServerLost(Terminated terminated)
    {
        var reason = $"{Name} on server node {_node} is gone (the node left or died): its range of the state is lost";
        Become(() =>
        {
            Receive<GetRange>(_ => Sender.Tell(new Status.Failure(new InvalidOperationException(reason))));
            Receive<PrepareStep>(_ => Sender.Tell(new Status.Failure(new InvalidOperationException(reason))));
            ReceiveAny(_ => { });
        });
        throw new InvalidOperationException(reason);
    }

    /// <summary>
    /// A buffer parked on its worker's node (direct push) goes on as that handle, and the server node fetches its range
    /// from the worker; one held here is parked on this node's channel once. Either way only the range crosses to the server.
    /// </summary>
    private void HandlePrepare(PrepareStep step)
    {
        var encodings = step.Shards.Select(s => s.Parked?.Encoding ?? GradientCompression.None).Distinct().ToArray();
        if (encodings.Length > 1 || (step.Shards.Any(s => s.Parked is null) && step.Shards.Any(s => s.Parked is not null)))
            throw new InvalidOperationException($"{Name}, step {step.Step}: its shards mix buffers held here and parked on workers, or encodings " +
                $"({string.Join(", ", encodings.Select(GradientEncoding.Name))}): one step must be one or the other");
        // The group returns held buffers to the pool only after every server answered, so after this one fetched: not recycled here.
        var shards = step.Shards.Select(shard => new RemoteContribution(shard.Shard, shard.Samples, shard.Parked ?? _channel.Publish(shard.Buffer))).ToArray();
        _preparing = (step.Step, step.HandlesSuffice);
        _server.Tell(new PrepareRemoteStep(step.Step, step.LearningRate, shards, step.IncludeGradient,
            encodings.Length == 1 ? encodings[0] : GradientCompression.None));
    }

    /// <summary>
    /// The server node serves its tentative range until two newer versions replace it; the workers fetch it from there
    /// (direct pull). Its values cross to this node only when the coordinator needs them (<see cref="PrepareStep.HandlesSuffice"/> false).
    /// </summary>
    private void HandleRemotePrepared(RemoteStepPrepared prepared)
    {
        var parameters = _setup.Momentum.Length;
        var handlesSuffice = _preparing == (prepared.Step, true);
        var state = prepared.State is { } s && !handlesSuffice ? _channel.FetchAsync(s, _setup.Range.Length) : Task.FromResult<float[]?>(null)!;
        var gradient = prepared.Gradient is { } g ? _channel.FetchAsync(g, parameters) : Task.FromResult<float[]?>(null)!;
        Task.WhenAll(state!, gradient!).PipeTo(Self, success: arrays => new StepPrepared(prepared.Step, _setup.Index, prepared.Outcome, prepared.SumOfSquares,
            arrays[0], arrays[1], prepared.Findings, prepared.AggregationMilliseconds, prepared.OptimizerMilliseconds, prepared.State,
            prepared.LostShards, prepared.LostReason));
    }

    private void HandleRemoteRange(RemoteCurrentRange range)
    {
        Task.WhenAll(_channel.FetchAsync(range.State, _setup.Range.Length), _channel.FetchAsync(range.Momentum, _setup.Momentum.Length))
            .PipeTo(Self, success: arrays => new CurrentRange(_setup.Index, arrays[0], arrays[1]));
    }

    private sealed record OpenTimedOut
    {
        public static OpenTimedOut Instance { get; } = new();
    }
}
