using Akka.Actor;
using Akka.Event;
using Distributed.Cluster.Transport;
using Distributed.Protocol;

namespace Distributed.Cluster.Node;

/// <summary>
/// A worker node's front door (/user/worker): the coordinator's <see cref="RemoteWorkerProxy"/> talks to it,
/// and it talks to the node's local worker actor exactly as the coordinator does in one process. Weights named
/// by a request's handle are pulled from the coordinator node's tensor channel before the request goes on (with range
/// servers on server nodes, from the server nodes, one range each: <see cref="RemoteWorkRequest.StateRanges"/>);
/// the gradient of a result is parked in this node's channel and only its handle travels back. Requests keep
/// their order: while one fetch runs, later requests wait.
/// A handle is fetched only if it names the sending node and the model's state length (see <see cref="TensorHandleCheck"/>),
/// learned from the local worker's <see cref="WorkerConfigured"/>; a refused handle or a failed or stalled fetch
/// becomes a <see cref="WorkFailed"/> for that shard, which the coordinator reassigns.
/// Received weights arrays go back to the channel's buffer pool once the worker is done with them.
/// With gradient compression (<see cref="ConfigureWorker.Compression"/>) a result's gradient, already rounded by the
/// worker, is packed to 16 bits before it is parked (<see cref="GradientEncoding"/>), and its handle says so.
/// The worker takes requests strictly in order and copies a request's weights into its replica before it
/// computes, so a reply to one request means it has finished reading every weights array forwarded up to it.
/// Round numbers restart with each configuration (a new coordinator), so requests are matched to replies within
/// one configuration: the worker answers each configuration once, in order, and drops the requests it had queued.
/// </summary>
public sealed class WorkerEndpointActor : ReceiveActor, IWithStash
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _worker;
    private readonly TensorChannel _channel;
    private readonly TextWriter? _console;
    private readonly Queue<Forwarded> _forwarded = new();
    private int _configurationsForwarded;
    private int _configurationsAnswered;
    private IActorRef _coordinatorSide = ActorRefs.Nobody;
    private int _trainingShards;
    private int? _stateLength;
    // Compression of each configuration forwarded and not yet answered, oldest first; the answered one is in force.
    private readonly Queue<GradientCompression> _pendingCompression = new();
    private GradientCompression _compression;
    private int _parameterCount;
    // How many fetches a result is served to: 1 (the coordinator's node) or, with range servers on server nodes, one
    // per range server. The same for every request of a run; taken from the latest request.
    private int _resultReaders = 1;

    public WorkerEndpointActor(Props workerProps, TensorChannel channel, TextWriter? console = null)
    {
        _channel = channel;
        _console = console;
        _worker = Context.ActorOf(workerProps, "replica");
        Become(Ready);
    }

    public IStash Stash { get; set; } = null!;

    /// <param name="console">Where the node reports its first training shard and then every 500th (operators and tests watch it).</param>
    public static Props Props(Props workerProps, TensorChannel channel, TextWriter? console = null) =>
        Akka.Actor.Props.Create(() => new WorkerEndpointActor(workerProps, channel, console));

    private void Ready()
    {
        Receive<ConfigureWorker>(configure =>
        {
            _coordinatorSide = Sender;
            _configurationsForwarded++;
            _pendingCompression.Enqueue(configure.Compression);
            _worker.Tell(configure, Self);
        });
        Receive<RemoteWorkRequest>(HandleRequest);
        HandleWorkerReplies();
    }

    private void Fetching()
    {
        Receive<WeightsFetched>(fetched =>
        {
            Forward(fetched.Request);
            BecomeReady();
        });
        Receive<FetchFailed>(failed =>
        {
            _log.Warning("Could not fetch the weights for round {0} shard {1}: {2}", failed.Request.Round, failed.Request.Shard, failed.Reason);
            failed.ReplyTo.Tell(new WorkFailed(failed.Request.Round, failed.Request.Shard, failed.Reason), Self);
            BecomeReady();
        });
        Receive<ConfigureWorker>(_ => Stash.Stash());
        Receive<RemoteWorkRequest>(_ => Stash.Stash());
        HandleWorkerReplies();
    }

    private void BecomeReady()
    {
        Become(Ready);
        Stash.UnstashAll();
    }

    private void HandleRequest(RemoteWorkRequest remote)
    {
        _coordinatorSide = Sender;
        if (remote.ResultReaders is < 1 or > ResultReaderLimits.Max)
        {
            var refused = $"a request for {remote.ResultReaders} readers of its result (at most {ResultReaderLimits.Max}): refused";
            _log.Warning("Round {0} shard {1}: {2}", remote.Request.Round, remote.Request.Shard, refused);
            Sender.Tell(new WorkFailed(remote.Request.Round, remote.Request.Shard, refused), Self);
            return;
        }
        _resultReaders = remote.ResultReaders;
        if (remote.StateRanges is { } ranges)
        {
            FetchRanges(remote.Request, ranges);
            return;
        }
        if (remote.State is not { } handle)
        {
            Forward(remote.Request);
            return;
        }
        var request = remote.Request;
        var replyTo = Sender;
        if (TensorHandleCheck.Problem(handle, Sender.Path.Address.Host, _stateLength) is { } problem)
        {
            _log.Warning("Refused the weights of round {0} shard {1}: {2}", request.Round, request.Shard, problem);
            replyTo.Tell(new WorkFailed(request.Round, request.Shard, problem), Self);
            return;
        }
        _channel.FetchAsync(handle, handle.Length).ContinueWith(task => task.IsCompletedSuccessfully
                ? new WeightsFetched(request with { State = task.Result })
                : (object)new FetchFailed(request, $"fetching weights version {request.WeightsVersion} failed: {task.Exception?.GetBaseException().Message ?? "cancelled"}", replyTo),
            TaskContinuationOptions.ExecuteSynchronously).PipeTo(Self);
        Become(Fetching);
    }

    /// <summary>
    /// Direct pull: the weights are served in ranges by the server nodes. Each is fetched from its node, all at once,
    /// into one state; ranges that are not served by server nodes of this cluster or do not tile the state are refused,
    /// and a refused or failed fetch fails the shard (the coordinator reassigns it), as with the state from the coordinator.
    /// </summary>
    private void FetchRanges(WorkRequest request, StateRangeHandle[] ranges)
    {
        var replyTo = Sender;
        var servers = Akka.Cluster.Cluster.Get(Context.System).State.Members
            .Where(m => m.HasRole(ClusterRoles.Server)).Select(m => m.Address.Host).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (TensorHandleCheck.StateRangesProblem(ranges, servers.Contains, _stateLength) is { } problem)
        {
            _log.Warning("Refused the weights of round {0} shard {1}: {2}", request.Round, request.Shard, problem);
            replyTo.Tell(new WorkFailed(request.Round, request.Shard, problem), Self);
            return;
        }
        _channel.FetchStateAsync(ranges, _stateLength!.Value).ContinueWith(task => task.IsCompletedSuccessfully
                ? new WeightsFetched(request with { State = task.Result })
                : (object)new FetchFailed(request, $"fetching weights version {request.WeightsVersion} from the server nodes failed: " +
                    $"{task.Exception?.GetBaseException().Message ?? "cancelled"}", replyTo),
            TaskContinuationOptions.ExecuteSynchronously).PipeTo(Self);
        Become(Fetching);
    }

    private void Forward(WorkRequest request)
    {
        _forwarded.Enqueue(new Forwarded(_configurationsForwarded, request.Round, request.Shard, request.State));
        _worker.Tell(request, Self);
    }

    /// <summary>The worker answered (round, shard): it has read the weights of that request and of all before it.</summary>
    private void Answered(long round, int shard)
    {
        bool Matches(Forwarded f) => f.Configuration == _configurationsAnswered && f.Round == round && f.Shard == shard;
        if (!_forwarded.Any(Matches)) return;
        while (_forwarded.TryDequeue(out var done))
        {
            if (done.Weights is { } weights) _channel.Buffers.Return(weights);
            if (Matches(done)) return;
        }
    }

    /// <summary>
    /// The worker answered a configuration: replies from now on belong to it. Requests of earlier configurations
    /// still unanswered were dropped from the worker's queue; their arrays are left to the collector.
    /// </summary>
    private void ConfigurationAnswered()
    {
        _configurationsAnswered++;
        while (_forwarded.TryPeek(out var oldest) && oldest.Configuration < _configurationsAnswered) _forwarded.Dequeue();
    }

    private void HandleWorkerReplies()
    {
        Receive<WorkCompleted>(completed =>
        {
            Answered(completed.Round, completed.Shard);
            if (completed.Kind == WorkKind.Train && (++_trainingShards == 1 || _trainingShards % 500 == 0))
                _console?.WriteLine($"worker: {_trainingShards} training shard(s) computed (latest: round {completed.Round}, {completed.ComputeMilliseconds:F0} ms)");
            if (completed.Buffer is not { } buffer)
            {
                _coordinatorSide.Tell(new RemoteWorkCompleted(completed, null), Self);
                return;
            }
            if (Park(buffer, completed) is { } handle) _coordinatorSide.Tell(new RemoteWorkCompleted(completed with { Buffer = null }, handle), Self);
        });
        Receive<WorkerConfigured>(configured =>
        {
            _stateLength = configured.StateLength;
            _parameterCount = configured.ParameterCount;
            if (configured.ComputeWarning is { } warning) _console?.WriteLine($"worker: warning: {warning}");
            RelayConfigurationAnswer(configured);
        });
        Receive<WorkerUnavailable>(RelayConfigurationAnswer);
        Receive<WeightsMissing>(message => RelayShardAnswer(message.Round, message.Shard, message));
        Receive<WorkFailed>(message => RelayShardAnswer(message.Round, message.Shard, message));
    }

    /// <summary>Parks a result buffer in the channel, packed if this configuration compresses gradients; null (and a failed shard) if it cannot be.</summary>
    private TensorHandle? Park(float[] buffer, WorkCompleted completed)
    {
        if (_compression == GradientCompression.None) return _channel.Publish(buffer, recycle: true, servings: _resultReaders);
        if (_parameterCount <= 0 || _parameterCount > buffer.Length)
        {
            var reason = $"the worker reported {_parameterCount} parameters for a result of {buffer.Length} values: cannot pack its {GradientEncoding.Name(_compression)} gradient";
            _log.Warning("Round {0} shard {1}: {2}", completed.Round, completed.Shard, reason);
            _coordinatorSide.Tell(new WorkFailed(completed.Round, completed.Shard, reason), Self);
            return null;
        }
        var wire = GradientEncoding.Encode(buffer, _parameterCount, _compression, _channel.Buffers);
        _channel.Buffers.Return(buffer);
        return _channel.Publish(wire, recycle: true, servings: _resultReaders) with { Encoding = _compression };
    }

    private void RelayConfigurationAnswer(object answer)
    {
        // The worker answers configurations in order: the one answered now is the one whose gradients come next.
        if (_pendingCompression.TryDequeue(out var compression)) _compression = compression;
        ConfigurationAnswered();
        _coordinatorSide.Tell(answer, Self);
    }

    private void RelayShardAnswer(long round, int shard, object answer)
    {
        Answered(round, shard);
        _coordinatorSide.Tell(answer, Self);
    }

    /// <summary>A request handed to the worker, with the weights array it carried (ours, from the tensor channel).</summary>
    private sealed record Forwarded(int Configuration, long Round, int Shard, float[]? Weights);

    private sealed record WeightsFetched(WorkRequest Request);
    private sealed record FetchFailed(WorkRequest Request, string Reason, IActorRef ReplyTo);
}
