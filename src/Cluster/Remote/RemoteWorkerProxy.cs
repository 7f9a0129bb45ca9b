using Akka.Actor;
using Akka.Event;
using Distributed.Cluster.Transport;
using Distributed.Protocol;

namespace Distributed.Cluster.Remote;

/// <summary>
/// Stands in for one remote worker on the coordinator node: the coordinator sees an ordinary local worker
/// (float arrays by reference, no Akka.Remote in its code), and this actor turns its messages into
/// handle-carrying ones for the worker node's <see cref="Node.WorkerEndpointActor"/> and back. It stops when the
/// worker's node is unreachable, leaves or dies; the coordinator watches it, so that is how a lost worker's
/// shard gets reassigned within seconds. A result's handle is fetched only if it names the worker's node and the
/// model's state length, which the proxy learns from the coordinator's own weights (every worker's first request
/// carries them); otherwise, or when the fetch fails or stalls, the coordinator gets a <see cref="WorkFailed"/>.
/// With gradient compression the handle must also carry the run's encoding and the packed length that follows from
/// the model (the worker's <see cref="WorkerConfigured.ParameterCount"/> says where the gradient ends); the fetched
/// array is decoded back into floats here, so the coordinator and parameter server never see an encoding.
/// With range servers on server nodes (<c>directReaders</c> = K &gt; 0) the proxy checks a training result's handle the
/// same way but does not fetch it: the worker node serves it to the K range servers, each fetching its range straight
/// from there, and the coordinator gets the handle (<see cref="WorkCompleted.Parked"/>), so gradients never cross
/// the coordinator's node. The weights do not either once a step has been applied: a request naming where the server
/// nodes serve the ranges (<see cref="WorkRequest.StateRanges"/>) goes to the worker with those handles (direct pull).
/// </summary>
public sealed class RemoteWorkerProxy : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _remote;
    private readonly string _name;
    private readonly IActorRef _coordinator;
    private readonly TensorChannel _channel;
    private int? _stateLength;
    private GradientCompression _compression;
    private int _parameterCount;
    private readonly int _directReaders;

    public RemoteWorkerProxy(IActorRef remote, string name, IActorRef coordinator, TensorChannel channel, int directReaders = 0)
    {
        _directReaders = directReaders;
        _remote = remote;
        _name = name;
        _coordinator = coordinator;
        _channel = channel;

        // From the coordinator.
        Receive<ConfigureWorker>(message =>
        {
            _compression = message.Compression;
            _remote.Tell(message, Self);
        });
        Receive<WorkRequest>(HandleRequest);
        // From the worker node.
        Receive<RemoteWorkCompleted>(HandleCompleted);
        Receive<GradientFetched>(fetched => _coordinator.Tell(fetched.Result, Self));
        Receive<WorkerConfigured>(message =>
        {
            _parameterCount = message.ParameterCount;
            _coordinator.Tell(message, Self);
        });
        Receive<WeightsMissing>(message => _coordinator.Tell(message, Self));
        Receive<WorkFailed>(message => _coordinator.Tell(message, Self));
        Receive<WorkerUnavailable>(message => _coordinator.Tell(message, Self));
        Receive<Terminated>(terminated =>
        {
            if (!terminated.ActorRef.Equals(_remote)) return;
            _log.Info("Worker {0} terminated", _name);
            Context.Stop(Self);
        });
    }

    public static Props Props(IActorRef remote, string name, IActorRef coordinator, TensorChannel channel, int directReaders = 0) =>
        Akka.Actor.Props.Create(() => new RemoteWorkerProxy(remote, name, coordinator, channel, directReaders));

    protected override void PreStart()
    {
        Context.Watch(_remote);
        _coordinator.Tell(new RegisterWorker(_name), Self);
    }

    private void HandleRequest(WorkRequest request)
    {
        if (request.State is { Length: var length }) _stateLength = length;
        // Every request of a direct run names the K readers, evaluation ones too (their results carry no buffer): the worker
        // node parks a result for the readers of the latest request, so that number must not change within a run.
        var readers = _directReaders > 0 ? _directReaders : 1;
        if (_directReaders > 0 && request.StateRanges is { } ranges)
        {
            // Direct pull: the worker fetches each range from the server node serving it; the state does not leave this node.
            // The ranges come from the coordinator's own parameter server group, so their sum is the state's length.
            _stateLength = ranges.Sum(r => r.Handle.Length);
            _remote.Tell(new RemoteWorkRequest(request with { State = null, StateRanges = null }, null, readers, ranges), Self);
            return;
        }
        var handle = request.State is { } state ? _channel.Publish(state) : null;
        _remote.Tell(new RemoteWorkRequest(request with { State = null, StateRanges = null }, handle, readers), Self);
    }

    private void HandleCompleted(RemoteWorkCompleted remote)
    {
        var result = remote.Result;
        if (remote.Buffer is not { } handle)
        {
            _coordinator.Tell(result, Self);
            return;
        }
        var encodingProblem = _stateLength is { } state ? GradientEncoding.Problem(handle, _compression, state, _parameterCount) : null;
        int? wireLength = _stateLength is { } length ? GradientEncoding.WireLength(_compression, length, _parameterCount) : null;
        if ((encodingProblem ?? TensorHandleCheck.Problem(handle, _remote.Path.Address.Host, wireLength)) is { } problem)
        {
            _log.Warning("Refused the result of {0} for round {1} shard {2}: {3}", _name, result.Round, result.Shard, problem);
            _coordinator.Tell(new WorkFailed(result.Round, result.Shard, $"{_name}: {problem}"), Self);
            return;
        }
        if (_directReaders > 0 && result.Kind == WorkKind.Train)
        {
            _coordinator.Tell(result with { Buffer = null, Parked = handle }, Self);
            return;
        }
        var (compression, stateLength, parameterCount, pool) = (_compression, _stateLength!.Value, _parameterCount, _channel.Buffers);
        _channel.FetchAsync(handle, handle.Length).ContinueWith(task => task.IsCompletedSuccessfully
                ? new GradientFetched(result with { Buffer = Decoded(task.Result, compression, stateLength, parameterCount, pool) })
                : (object)new WorkFailed(result.Round, result.Shard, $"fetching the result of {_name} failed: {task.Exception?.GetBaseException().Message ?? "cancelled"}"),
            TaskContinuationOptions.ExecuteSynchronously).PipeTo(Self);
    }

    /// <summary>The result buffer a fetched wire array stands for; a packed one goes back to the pool once decoded.</summary>
    /// <remarks>Runs on the fetch's continuation, not the actor's thread: it touches nothing of the actor. The fetch has already checked the wire length.</remarks>
    private static float[] Decoded(float[] wire, GradientCompression compression, int stateLength, int parameterCount, TensorBufferPool pool)
    {
        if (compression == GradientCompression.None) return wire;
        var buffer = GradientEncoding.Decode(wire, stateLength, parameterCount, compression, pool);
        pool.Return(wire);
        return buffer;
    }

    private sealed record GradientFetched(WorkCompleted Result);
}
