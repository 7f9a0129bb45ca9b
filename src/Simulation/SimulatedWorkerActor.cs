using Akka.Actor;
using Distributed.Protocol;
using Distributed.Protocol.Serialization;
using MessagePack;

namespace Distributed.Simulation;

/// <summary>
/// A worker that computes nothing: it answers the coordinator's real <see cref="ConfigureWorker"/> and
/// <see cref="WorkRequest"/> with the real answers, after the time the work would take. A shard's timeline is
/// weights in (through the link model), samples × seconds per sample on its one compute thread (shards queue
/// there, as on a real worker), gradient out, result to the coordinator. Gradients are zero-valued buffers of the
/// small simulated state; the links are charged for the modeled model size instead.
/// </summary>
public sealed class SimulatedWorkerActor : ReceiveActor
{
    private readonly string _name;
    private readonly int _index;
    private readonly SimulatedCluster _cluster;
    private readonly double _secondsPerSample;
    private double _computeFree;
    private long _heldVersion = -1;

    public SimulatedWorkerActor(string name, int index, SimulatedCluster cluster, double secondsPerSample)
    {
        _name = name;
        _index = index;
        _cluster = cluster;
        _secondsPerSample = secondsPerSample;
        Receive<ConfigureWorker>(_ => Sender.Tell(new WorkerConfigured(_name, cluster.StateLength, cluster.TrainCount, 0, "simulated")));
        Receive<WorkRequest>(HandleRequest);
        Receive<WeightsIn>(HandleWeightsIn);
        Receive<Computed>(HandleComputed);
    }

    public static Props Props(string name, int index, SimulatedCluster cluster, double secondsPerSample) =>
        Akka.Actor.Props.Create(() => new SimulatedWorkerActor(name, index, cluster, secondsPerSample)).WithDispatcher(InlineDispatcherConfigurator.Id);

    private TrafficPlan Plan => _cluster.Plan;
    private LinkModel Links => _cluster.Links;
    private int Node => Plan.WorkerNode(_index);

    private void HandleRequest(WorkRequest request)
    {
        var coordinator = Sender;
        var now = _cluster.Now;
        var requestBytes = SizeOf(request with { State = null });
        if (Plan.Path == TransferPath.Coordinator)
        {
            // Today's path: the weights travel with the request, from the coordinator's node.
            var weights = request.State is null ? 0 : Plan.ModelBytes;
            var arrived = Links.Transfer(TrafficPlan.CoordinatorNode, Node, requestBytes + weights, now);
            if (request.State is not null) _heldVersion = request.WeightsVersion;
            else if (_heldVersion != request.WeightsVersion)
            {
                var missing = new WeightsMissing(request.Round, request.Shard, _heldVersion);
                _cluster.At(Links.Transfer(Node, TrafficPlan.CoordinatorNode, SizeOf(missing), arrived), coordinator, missing, Self);
                return;
            }
            _cluster.At(arrived, Self, new WeightsIn(request, coordinator), Self);
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
        var start = Math.Max(_cluster.Now, _computeFree);
        _computeFree = start + message.Request.SampleIndices.Length * _secondsPerSample;
        _cluster.At(_computeFree, Self, new Computed(message.Request, message.Coordinator, (_computeFree - start) * 1000), Self);
    }

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
    }

    private static long SizeOf<T>(T message) => MessagePackSerializer.Serialize(message, ProtocolSerializer.Options).Length;

    private sealed record WeightsIn(WorkRequest Request, IActorRef Coordinator);

    private sealed record Computed(WorkRequest Request, IActorRef Coordinator, double ComputeMilliseconds);
}
