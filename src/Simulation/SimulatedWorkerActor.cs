using Akka.Actor;
using Distributed.Protocol;
using Distributed.Protocol.Serialization;
using MessagePack;

namespace Distributed.Simulation;

/// <summary>
/// A worker that computes nothing: it answers the coordinator's real <see cref="ConfigureWorker"/> and
/// <see cref="WorkRequest"/> with the real answers, after the time the work would take. A shard's timeline is
/// weights in (through the link model), a wait in the worker's queue, its compute time (<see cref="ShardTimeModel"/>)
/// on the one compute thread, gradient out, result to the coordinator. The queue behaves as the real
/// <c>WorkerActor</c>'s: one request at a time, in arrival order; when the next is taken, a request of an older round
/// than another queued one is skipped and answered with <see cref="WorkFailed"/> (its round finished without it: a
/// straggler's backlog, or a shard the backup workers abandoned), and a request whose weights the worker lacks is
/// answered with <see cref="WeightsMissing"/>. So a speculative copy or an abandoned shard delays the worker's next
/// shard exactly as on a real worker. Gradients are zero-valued buffers of the small simulated state; the links are
/// charged for the modeled model size instead.
/// </summary>
public sealed class SimulatedWorkerActor : ReceiveActor
{
    private readonly string _name;
    private readonly int _index;
    private readonly SimulatedCluster _cluster;
    private readonly ShardTimeModel _shardTimes;
    private readonly Queue<WeightsIn> _queue = new();
    private bool _computing;
    private long _latestRound;
    private long _heldVersion = -1;

    public SimulatedWorkerActor(string name, int index, SimulatedCluster cluster, ShardTimeModel shardTimes)
    {
        _name = name;
        _index = index;
        _cluster = cluster;
        _shardTimes = shardTimes;
        Receive<ConfigureWorker>(_ => Sender.Tell(new WorkerConfigured(_name, cluster.StateLength, cluster.TrainCount, 0, "simulated")));
        Receive<WorkRequest>(HandleRequest);
        Receive<WeightsIn>(HandleWeightsIn);
        Receive<Computed>(HandleComputed);
    }

    public static Props Props(string name, int index, SimulatedCluster cluster, ShardTimeModel shardTimes) =>
        Akka.Actor.Props.Create(() => new SimulatedWorkerActor(name, index, cluster, shardTimes)).WithDispatcher(InlineDispatcherConfigurator.Id);

    private TrafficPlan Plan => _cluster.Plan;
    private LinkModel Links => _cluster.Links;
    private int Node => Plan.WorkerNode(_index);

    /// <summary>The request travels to this node (with the weights on the coordinator path, after pulling them on the direct path) and joins the queue on arrival.</summary>
    private void HandleRequest(WorkRequest request)
    {
        var coordinator = Sender;
        var now = _cluster.Now;
        var requestBytes = SizeOf(request with { State = null });
        if (Plan.Path == TransferPath.Coordinator)
        {
            // Today's path: the weights travel with the request, from the coordinator's node.
            var weights = request.State is null ? 0 : Plan.ModelBytes;
            _cluster.At(Links.Transfer(TrafficPlan.CoordinatorNode, Node, requestBytes + weights, now), Self, new WeightsIn(request, coordinator), Self);
            return;
        }
        // Direct path: the request is small; on it the worker asks every server for its slice (one latency) and waits for all.
        var asked = Links.Transfer(TrafficPlan.CoordinatorNode, Node, requestBytes, now) + Links.LatencySeconds;
        var ready = asked;
        foreach (var flow in Plan.WeightsTo(_index)) ready = Math.Max(ready, Links.Transfer(flow.From, flow.To, flow.Bytes, asked));
        _cluster.At(ready, Self, new WeightsIn(request, coordinator), Self);
    }

    private void HandleWeightsIn(WeightsIn message)
    {
        _queue.Enqueue(message);
        if (!_computing) StartNext();
    }

    /// <summary>
    /// As <c>WorkerActor.StartNext</c>: skip the requests of rounds the coordinator has moved past, check the weights,
    /// compute the first that remains. A round is over when a queued request names a newer oldest-open round (its own
    /// round in synchronous mode; under bounded staleness several rounds are open and only older ones are over).
    /// </summary>
    private void StartNext()
    {
        foreach (var queued in _queue) _latestRound = Math.Max(_latestRound, OpenFrom(queued.Request));
        while (_queue.TryDequeue(out var next))
        {
            var request = next.Request;
            _latestRound = Math.Max(_latestRound, OpenFrom(request));
            if (request.Round < _latestRound)
            {
                // Answered all the same: the coordinator counts the request as outstanding until then.
                _cluster.SkippedRequests++;
                Reply(next.Coordinator, new WorkFailed(request.Round, request.Shard, $"skipped: round {request.Round} is over, the coordinator has moved on to round {_latestRound}"));
                continue;
            }
            // The direct path pulls the weights for every request, so only the coordinator path can lack them.
            if (Plan.Path == TransferPath.Coordinator)
            {
                if (request.State is not null) _heldVersion = request.WeightsVersion;
                if (_heldVersion != request.WeightsVersion)
                {
                    Reply(next.Coordinator, new WeightsMissing(request.Round, request.Shard, _heldVersion));
                    continue;
                }
            }
            var seconds = _shardTimes.NextShardSeconds(request.SampleIndices.Length);
            _computing = true;
            _cluster.At(_cluster.Now + seconds, Self, new Computed(request, next.Coordinator, seconds * 1000), Self);
            return;
        }
        _computing = false;
    }

    /// <summary>The oldest round the coordinator still had open when it sent <paramref name="request"/> (as the real worker reads it).</summary>
    private static long OpenFrom(WorkRequest request) => request.OldestOpenRound > 0 ? request.OldestOpenRound : request.Round;

    private void Reply<T>(IActorRef coordinator, T answer) where T : notnull =>
        _cluster.At(Links.Transfer(Node, TrafficPlan.CoordinatorNode, SizeOf(answer), _cluster.Now), coordinator, answer, Self);

    private void HandleComputed(Computed message)
    {
        var request = message.Request;
        var now = _cluster.Now;
        var training = request.Kind == WorkKind.Train;
        var result = new WorkCompleted(request.Round, request.Kind, request.Shard, request.WeightsVersion, request.SampleIndices.Length,
            LossSum: 0, Correct: 0, message.ComputeMilliseconds, training ? new float[_cluster.StateLength] : null, RunId: request.RunId);
        var resultBytes = SizeOf(result with { Buffer = null });
        double delivered;
        if (Plan.Path == TransferPath.Coordinator)
        {
            delivered = Links.Transfer(Node, TrafficPlan.CoordinatorNode, resultBytes + (training ? Plan.ModelBytes : 0), now);
        }
        else
        {
            // The result goes to the coordinator once every server has acknowledged its slice (one latency back).
            var pushed = now;
            if (training)
                foreach (var flow in Plan.GradientFrom(_index)) pushed = Math.Max(pushed, Links.Transfer(flow.From, flow.To, flow.Bytes, now) + Links.LatencySeconds);
            delivered = Links.Transfer(Node, TrafficPlan.CoordinatorNode, resultBytes, pushed);
        }
        _cluster.At(delivered, message.Coordinator, result, Self);
        // The compute thread is free once the shard is computed; sending the result does not hold it.
        StartNext();
    }

    private static long SizeOf<T>(T message) => MessagePackSerializer.Serialize(message, ProtocolSerializer.Options).Length;

    private sealed record WeightsIn(WorkRequest Request, IActorRef Coordinator);

    private sealed record Computed(WorkRequest Request, IActorRef Coordinator, double ComputeMilliseconds);
}
