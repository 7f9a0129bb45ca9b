using Akka.Actor;
using Distributed.Cluster.Transport;
using Distributed.Protocol;

namespace Distributed.ParameterServer.Nodes;

/// <summary>
/// One range server on a server node, as a sharded entity (entity id = range index). It is the node-side twin of
/// <see cref="RangeServerLink"/>: it fetches what the messages name by handle (its initial state, and of each shard's
/// result buffer only its own range, from wherever that buffer is parked), runs an unchanged <see cref="RangeServerActor"/>
/// as its child on the range alone (in range coordinates: index 0 is the range's start), and parks what the child
/// answers on this node's tensor channel for the link to fetch; each new range of the state stays served there for the
/// workers (direct pull) until two newer versions replace it. A result it cannot fetch (its worker died) makes the step
/// Unreadable for those shards, which are computed again. The child's arithmetic is the one-process arithmetic on
/// the same floats in the same shard order, so the weights are bit for bit those of one server.
/// An entity is opened by each run (<see cref="OpenRange"/>) and reopened by the next; one that was never opened (it
/// was started again elsewhere after its node left) answers every request with <see cref="RangeFailed"/>.
/// </summary>
public sealed class RangeServerEntity : ReceiveActor, IWithStash
{
    private readonly TensorChannel _channel;
    private readonly TextWriter _log;
    private OpenRange? _open;
    private IActorRef? _server;
    private IActorRef _link = ActorRefs.Nobody;
    // The step whose shard ranges the child is averaging: who asked for it.
    private IActorRef? _preparing;
    // The ranges of the step in flight, by the handle they came from. Kept until the step commits (then recycled) or
    // aborts (then kept for the retry of that step: a worker's parked buffer is served once per range server, and the
    // shards that were not refused come back with the same handles).
    private Dictionary<(string, int, long), float[]> _ranges = new();
    private readonly Queue<IActorRef> _rangeRequesters = new();
    // The range's versions as this node serves them to the workers (direct pull), until released: the tentative one of
    // the step in flight, the committed one, and the one before it (a worker may still be fetching it when the next
    // commits). Older ones are released: at most three ranges of the state are held for readers.
    private TensorHandle? _tentative;
    private TensorHandle? _current;
    private TensorHandle? _previous;

    public RangeServerEntity(TensorChannel channel, TextWriter log)
    {
        _channel = channel;
        _log = log;
        Become(Closed);
    }

    public IStash Stash { get; set; } = null!;

    public static Props Props(TensorChannel channel, TextWriter log) => Akka.Actor.Props.Create(() => new RangeServerEntity(channel, log));

    // The child's exceptions are the run's failure: it is stopped, and its Terminated tells the link.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    private int Index => _open?.Server ?? -1;

    private void Closed()
    {
        Receive<OpenRange>(HandleOpen);
        ReceiveAny(_ => Sender.Tell(new RangeFailed(Index,
            $"range server entity {Self.Path.Name} on {NodeName} holds no range: it was never opened here (its first node left?)")));
    }

    private void HandleOpen(OpenRange open)
    {
        if (_server is { } previous)
        {
            Context.Unwatch(previous);
            Context.Stop(previous);
            _server = null;
        }
        ReleaseVersions();
        _open = open;
        _link = Sender;
        _preparing = null;
        _rangeRequesters.Clear();
        _ranges.Clear();
        var length = open.End - open.Start;
        var parameters = new StateRange(open.Start, open.End).ParametersIn(open.ParameterCount);
        if (open.Start < 0 || open.End > open.StateLength || length <= 0 || open.State.Length != length || open.Momentum.Length != parameters
            || open.DecayMask.Length != parameters)
        {
            _link.Tell(new RangeFailed(open.Server, $"range server {open.Server} on {NodeName}: range [{open.Start}, {open.End}) of a state of " +
                $"{open.StateLength} ({open.ParameterCount} trainable) does not match its handles ({open.State.Length} state, " +
                $"{open.Momentum.Length} momentum, {open.DecayMask.Length} decay-mask values): refused"));
            Become(Closed);
            return;
        }
        if ((SenderProblem(open.State) ?? SenderProblem(open.Momentum) ?? SenderProblem(open.DecayMask)) is { } problem)
        {
            _link.Tell(new RangeFailed(open.Server, problem));
            Become(Closed);
            return;
        }
        Task.WhenAll(_channel.FetchAsync(open.State, length), _channel.FetchAsync(open.Momentum, parameters), _channel.FetchAsync(open.DecayMask, parameters))
            .PipeTo(Self, success: arrays => new Fetched(open, arrays));
        Become(Opening);
    }

    private void Opening()
    {
        Receive<Fetched>(fetched => fetched.Open == _open, fetched =>
        {
            var open = fetched.Open;
            var range = new StateRange(0, open.End - open.Start);
            var setup = new RangeServerSetup(open.Server, range, fetched.Arrays[0], fetched.Arrays[1], fetched.Arrays[2],
                new SgdSettings(open.MomentumCoefficient, open.Nesterov, open.WeightDecay));
            _server = Context.Watch(Context.ActorOf(RangeServerActor.Props(setup)));
            _link.Tell(new RangeOpened(open.Server, NodeName));
            _log.WriteLine($"server: holds range server {open.Server}, state [{open.Start}, {open.End}) of {open.StateLength}");
            Become(Serving);
            Stash.UnstashAll();
        });
        Receive<Status.Failure>(failure =>
        {
            _link.Tell(new RangeFailed(Index, $"range server {Index} on {NodeName} could not fetch its initial range: {failure.Cause.Message}"));
            Become(Closed);
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Serving()
    {
        Receive<OpenRange>(HandleOpen);
        Receive<PrepareRemoteStep>(HandlePrepare);
        Receive<CommitStep>(commit =>
        {
            _server!.Forward(commit);
            // The tentative range is now the state: served until two newer versions replace it.
            if (_tentative is { } committed)
            {
                if (_previous is { } old) _channel.Release(old);
                (_previous, _current, _tentative) = (_current, committed, null);
            }
            // The child read the ranges while it prepared (synchronously) and the step is done: they can go back to the pool.
            foreach (var buffer in _ranges.Values) _channel.Buffers.Return(buffer);
            _ranges.Clear();
        });
        Receive<AbortStep>(abort =>
        {
            _server!.Forward(abort);
            if (_tentative is { } dropped) _channel.Release(dropped);
            _tentative = null;
        });
        Receive<GetRange>(get =>
        {
            _rangeRequesters.Enqueue(Sender);
            _server!.Tell(get);
        });
        Receive<StepPrepared>(HandlePrepared);
        Receive<CurrentRange>(HandleCurrentRange);
        Receive<Terminated>(terminated => terminated.ActorRef.Equals(_server), _ =>
        {
            _link.Tell(new RangeFailed(Index, $"range server {Index} on {NodeName} failed (its arithmetic threw); see that node's log"));
            _server = null;
            Become(Closed);
        });
    }

    /// <summary>
    /// Fetches this range of every shard's buffer (straight from the worker's node when it is parked there), all at
    /// once, then hands the child a one-process PrepareStep over them. A range already fetched for an aborted attempt
    /// of the same buffer is used again.
    /// </summary>
    private void HandlePrepare(PrepareRemoteStep step)
    {
        var open = _open!;
        var requester = Sender;
        var length = open.End - open.Start;
        var kept = _ranges;
        _ranges = new Dictionary<(string, int, long), float[]>();
        var fetches = step.Shards.Select(shard => kept.Remove(Key(shard.Buffer), out var range) ? Task.FromResult(range)
            : _channel.FetchStateRangeAsync(shard.Buffer, step.Encoding, open.StateLength, open.ParameterCount, open.Start, length)).ToArray();
        // Ranges of an aborted attempt that this one does not use (their shards were refused and computed again) are spent.
        foreach (var unused in kept.Values) _channel.Buffers.Return(unused);
        // Each fetch is waited for on its own, so a failed one names its shard and the others' ranges are kept.
        Task.WhenAll(fetches.Select(f => f.ContinueWith(t => t, TaskContinuationOptions.ExecuteSynchronously)))
            .PipeTo(Self, success: done => done.All(t => t.IsCompletedSuccessfully)
                ? (object)new ShardRanges(step, requester, done.Select(t => t.Result).ToArray())
                : new ShardRangesFailed(step, requester, done));
        Become(() =>
        {
            Receive<ShardRanges>(ranges => ranges.Step == step, ranges =>
            {
                var contributions = step.Shards.Select((shard, i) => new ShardContribution(shard.Shard, shard.Samples, ranges.Buffers[i])).ToArray();
                for (var i = 0; i < step.Shards.Length; i++) _ranges[Key(step.Shards[i].Buffer)] = ranges.Buffers[i];
                _preparing = requester;
                _server!.Tell(new PrepareStep(step.Step, step.LearningRate, contributions, step.IncludeGradient));
                Become(Serving);
                Stash.UnstashAll();
            });
            Receive<ShardRangesFailed>(failed => failed.Step == step, failed =>
            {
                // A worker that died after its result was accepted, or any other failed fetch of a result: those shards'
                // contributions are lost, not this range. The ranges that did arrive are kept for the step's next attempt
                // (their buffers are served once per range server), and the group has the lost shards computed again.
                var lost = new List<int>();
                var reasons = new List<string>();
                for (var i = 0; i < step.Shards.Length; i++)
                {
                    var fetch = failed.Fetches[i];
                    if (fetch.IsCompletedSuccessfully)
                    {
                        _ranges[Key(step.Shards[i].Buffer)] = fetch.Result;
                        continue;
                    }
                    lost.Add(step.Shards[i].Shard);
                    reasons.Add($"shard {step.Shards[i].Shard} from {step.Shards[i].Buffer.Host}:{step.Shards[i].Buffer.Port}: " +
                        (fetch.Exception?.GetBaseException().Message ?? "cancelled"));
                }
                _log.WriteLine($"server: range server {open.Server}, step {step.Step}: could not fetch its range of {string.Join("; ", reasons)}");
                requester.Tell(new RemoteStepPrepared(step.Step, open.Server, PrepareOutcome.Unreadable, double.NaN, null, null, [], 0, 0, lost.ToArray(),
                    $"range server {open.Server} on {NodeName} could not fetch its range of {string.Join("; ", reasons)}"));
                Become(Serving);
                Stash.UnstashAll();
            });
            ReceiveAny(_ => Stash.Stash());
        });
    }

    private void HandlePrepared(StepPrepared prepared)
    {
        if (_preparing is not { } requester) return;
        _preparing = null;
        var start = _open!.Start;
        var findings = prepared.Findings.Select(f => f with { FirstIndex = f.FirstIndex + start }).ToArray();
        // The tentative range becomes the state on commit and is never written again: parked by reference, for the link
        // (when the coordinator needs the values) and, once committed, for every worker that needs this version (direct pull).
        if (_tentative is { } stale) _channel.Release(stale);
        _tentative = prepared.State is { } state ? _channel.Publish(state, servings: TensorChannel.UntilReleased) : null;
        requester.Tell(new RemoteStepPrepared(prepared.Step, prepared.Server, prepared.Outcome, prepared.SumOfSquares,
            _tentative, prepared.Gradient is { } gradient ? _channel.Publish(gradient) : null,
            findings, prepared.AggregationMilliseconds, prepared.OptimizerMilliseconds));
    }

    private void HandleCurrentRange(CurrentRange range)
    {
        if (!_rangeRequesters.TryDequeue(out var requester)) return;
        requester.Tell(new RemoteCurrentRange(range.Server, _channel.Publish(range.State), _channel.Publish(range.Momentum)));
    }

    /// <summary>A new run (or a reopened range) starts from versions of its own: nobody reads the old ones any more.</summary>
    private void ReleaseVersions()
    {
        foreach (var handle in new[] { _tentative, _current, _previous }) if (handle is not null) _channel.Release(handle);
        (_tentative, _current, _previous) = (null, null, null);
    }

    /// <summary>Initial state comes from the node that opened the range, never from a third host it names.</summary>
    private string? SenderProblem(TensorHandle handle)
    {
        var host = Sender.Path.Address.Host;
        return host is null || string.Equals(handle.Host, host, StringComparison.OrdinalIgnoreCase) ? null
            : $"range server {Index} on {NodeName}: tensor handle {handle.Id:x16} points at {handle.Host}:{handle.Port}, but came from {host}: refused";
    }

    private static (string, int, long) Key(TensorHandle handle) => (handle.Host, handle.Port, handle.Id);

    private string NodeName => Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();

    private sealed record Fetched(OpenRange Open, float[][] Arrays);

    private sealed record ShardRanges(PrepareRemoteStep Step, IActorRef Requester, float[][] Buffers);

    private sealed record ShardRangesFailed(PrepareRemoteStep Step, IActorRef Requester, Task<float[]>[] Fetches);
}
