using Akka.Actor;
using Distributed.Cluster.Transport;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Cluster.Node;

namespace Distributed.Tests.Cluster;

/// <summary>
/// A worker node receives every weights version into a recycled array. Recycling one too early would let the
/// next fetch overwrite weights the worker has not loaded yet, so it must wait for the worker's answer.
/// </summary>
public sealed class WorkerEndpointBufferTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private const int StateLength = 50_021; // no other test uses this length: the pool is process-wide

    private readonly TensorChannel _coordinatorChannel = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
    private readonly TensorChannel _workerChannel = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
    private readonly Akka.TestKit.TestProbe _replica;
    private readonly IActorRef _endpoint;

    public WorkerEndpointBufferTests() : base(AkkaTestConfig.WithProtocolSerialization(serializeEveryMessage: false))
    {
        _replica = CreateTestProbe();
        var replica = _replica.Ref;
        _endpoint = Sys.ActorOf(WorkerEndpointActor.Props(Props.Create(() => new ForwardingActor(replica)), _workerChannel));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _workerChannel.DisposeAsync();
        await _coordinatorChannel.DisposeAsync();
    }

    [Fact]
    public async Task Received_weights_return_to_the_pool_only_after_the_worker_has_answered_for_them()
    {
        // The endpoint fetches weights only once its worker has said how long the model's state is.
        _endpoint.Tell(new ConfigureWorker(new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
            new DataSpec("synthetic", null, 0, false, TrainLimit: 64, TestLimit: 16), 3), TestActor);
        await _replica.ExpectMsgAsync<ConfigureWorker>(TimeSpan.FromSeconds(10));
        _endpoint.Tell(new WorkerConfigured("w", StateLength, 64, 16), _replica.Ref);
        await ExpectMsgAsync<WorkerConfigured>(TimeSpan.FromSeconds(10));
        _endpoint.Tell(RequestWithWeights(round: 1), TestActor);
        var firstWeights = (await _replica.ExpectMsgAsync<WorkRequest>(TimeSpan.FromSeconds(10))).State!;
        _endpoint.Tell(RequestWithWeights(round: 2), TestActor);
        var secondWeights = (await _replica.ExpectMsgAsync<WorkRequest>(TimeSpan.FromSeconds(10))).State!;
        Assert.NotSame(firstWeights, TensorBufferPool.Shared.Rent(StateLength));

        _endpoint.Tell(Answer(round: 1), _replica.Ref);
        await ExpectMsgAsync<RemoteWorkCompleted>(TimeSpan.FromSeconds(10));

        Assert.Same(firstWeights, TensorBufferPool.Shared.Rent(StateLength));
        Assert.NotSame(secondWeights, TensorBufferPool.Shared.Rent(StateLength));

        _endpoint.Tell(Answer(round: 2), _replica.Ref);
        await ExpectMsgAsync<RemoteWorkCompleted>(TimeSpan.FromSeconds(10));

        Assert.Same(secondWeights, TensorBufferPool.Shared.Rent(StateLength));
    }

    [Fact]
    public async Task A_late_answer_from_the_previous_run_does_not_release_weights_of_the_new_run_with_the_same_round_number()
    {
        var configuration = new ConfigureWorker(new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
            new DataSpec("synthetic", null, 0, false, TrainLimit: 64, TestLimit: 16), 3);

        _endpoint.Tell(configuration, TestActor);
        await _replica.ExpectMsgAsync<ConfigureWorker>(TimeSpan.FromSeconds(10));
        _endpoint.Tell(new WorkerConfigured("w", StateLength, 64, 16), _replica.Ref);
        await ExpectMsgAsync<WorkerConfigured>(TimeSpan.FromSeconds(10));
        _endpoint.Tell(RequestWithWeights(round: 1), TestActor);
        var oldRunWeights = (await _replica.ExpectMsgAsync<WorkRequest>(TimeSpan.FromSeconds(10))).State!;

        // A new coordinator configures the node while round 1 of the old run still computes; its rounds restart at 1.
        _endpoint.Tell(configuration, TestActor);
        await _replica.ExpectMsgAsync<ConfigureWorker>(TimeSpan.FromSeconds(10));
        _endpoint.Tell(RequestWithWeights(round: 1), TestActor);
        var newRunWeights = (await _replica.ExpectMsgAsync<WorkRequest>(TimeSpan.FromSeconds(10))).State!;

        _endpoint.Tell(Answer(round: 1), _replica.Ref); // the old run's round 1
        await ExpectMsgAsync<RemoteWorkCompleted>(TimeSpan.FromSeconds(10));
        Assert.Same(oldRunWeights, TensorBufferPool.Shared.Rent(StateLength));
        Assert.NotSame(newRunWeights, TensorBufferPool.Shared.Rent(StateLength));

        _endpoint.Tell(new WorkerConfigured("w", StateLength, 64, 16), _replica.Ref);
        await ExpectMsgAsync<WorkerConfigured>(TimeSpan.FromSeconds(10));
        _endpoint.Tell(Answer(round: 1), _replica.Ref); // the new run's round 1
        await ExpectMsgAsync<RemoteWorkCompleted>(TimeSpan.FromSeconds(10));
        Assert.Same(newRunWeights, TensorBufferPool.Shared.Rent(StateLength));
    }

    private RemoteWorkRequest RequestWithWeights(long round)
    {
        var weights = Enumerable.Range(0, StateLength).Select(i => (float)(i * round)).ToArray();
        return new RemoteWorkRequest(new WorkRequest(round, WorkKind.Evaluate, 0, 0, round, [0, 1], null), _coordinatorChannel.Publish(weights));
    }

    private static WorkCompleted Answer(long round) =>
        new(round, WorkKind.Evaluate, 0, round, 2, 1.0, 1, 5, null, null, 0);

    /// <summary>Stands in for the node's worker actor: hands what the endpoint sends to a probe, sender kept.</summary>
    private sealed class ForwardingActor : ReceiveActor
    {
        public ForwardingActor(IActorRef target) => ReceiveAny(message => target.Forward(message));
    }
}
