using Akka.Actor;
using Distributed.Cluster.Node;
using Distributed.Cluster.Remote;
using Distributed.Cluster.Transport;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Worker;

namespace Distributed.Tests.Compression;

/// <summary>
/// The whole remote result path in one actor system: the coordinator side's
/// proxy and the worker node's endpoint, each with its own tensor channel on loopback. The worker's rounded
/// gradient is parked as 16-bit codes and reaches the coordinator as the very same floats; a handle whose encoding
/// or length does not match the run becomes a failed shard that names the mismatch.
/// </summary>
public sealed class CompressedResultPathTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private const int StateLength = 20_011;
    private const int ParameterCount = 20_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly TensorChannel _coordinatorChannel = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
    private readonly TensorChannel _workerChannel = TensorChannel.Start("127.0.0.1", 0, "127.0.0.1", null);
    private readonly Akka.TestKit.TestProbe _replica;
    private readonly IActorRef _proxy;

    public CompressedResultPathTests() : base(AkkaTestConfig.WithProtocolSerialization(serializeEveryMessage: false))
    {
        _replica = CreateTestProbe();
        var replica = _replica.Ref;
        var endpoint = Sys.ActorOf(WorkerEndpointActor.Props(Props.Create(() => new ForwardingActor(replica)), _workerChannel));
        _proxy = Sys.ActorOf(RemoteWorkerProxy.Props(endpoint, "worker-z", TestActor, _coordinatorChannel));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _workerChannel.DisposeAsync();
        await _coordinatorChannel.DisposeAsync();
    }

    /// <summary>Configures the pair for <paramref name="compression"/> and sends one training request with weights (the proxy learns the state length from them).</summary>
    private async Task<WorkRequest> ConfigureAndRequestAsync(GradientCompression compression)
    {
        await ExpectMsgAsync<RegisterWorker>(Patience);
        _proxy.Tell(new ConfigureWorker(ModelSpec.ResNet20FashionMnist, new DataSpec("synthetic", null, 0, false), 1, compression), TestActor);
        Assert.Equal(compression, (await _replica.ExpectMsgAsync<ConfigureWorker>(Patience)).Compression);
        _replica.Reply(new WorkerConfigured("worker-z", StateLength, 64, 16, "", ParameterCount));
        Assert.Equal(ParameterCount, (await ExpectMsgAsync<WorkerConfigured>(Patience)).ParameterCount);
        _proxy.Tell(new WorkRequest(1, WorkKind.Train, 0, 0, 1, [0, 1], new float[StateLength]), TestActor);
        return await _replica.ExpectMsgAsync<WorkRequest>(Patience);
    }

    private static float[] RoundedResult(GradientCompression compression)
    {
        var random = new Random(11);
        var raw = Enumerable.Range(0, ParameterCount).Select(_ => (float)(random.NextDouble() - 0.5) * 1e-2f).ToArray();
        var buffer = new float[StateLength];
        new GradientCompressor(compression, ParameterCount).Compress(raw, buffer.AsSpan(0, ParameterCount));
        for (var i = ParameterCount; i < StateLength; i++) buffer[i] = 1f / (i - ParameterCount + 3); // not on any 16-bit grid
        return buffer;
    }

    [Theory]
    [InlineData(GradientCompression.Float16)]
    [InlineData(GradientCompression.BFloat16)]
    [InlineData(GradientCompression.None)]
    public async Task A_compressed_result_reaches_the_coordinator_as_the_floats_the_worker_rounded(GradientCompression compression)
    {
        var request = await ConfigureAndRequestAsync(compression);
        var buffer = RoundedResult(compression);
        var parked = _workerChannel.ParkedCount;

        _replica.Reply(new WorkCompleted(request.Round, WorkKind.Train, request.Shard, 1, 2, 1.5, 1, 3, (float[])buffer.Clone()));

        var delivered = await ExpectMsgAsync<WorkCompleted>(Patience);
        Assert.Equal(buffer, delivered.Buffer);
        Assert.Equal(parked, _workerChannel.ParkedCount);
    }

    [Fact]
    public async Task A_result_handle_with_another_encoding_or_length_is_refused_as_a_failed_shard_naming_it()
    {
        await ConfigureAndRequestAsync(GradientCompression.BFloat16);
        var wire = GradientEncoding.WireLength(GradientCompression.BFloat16, StateLength, ParameterCount);
        var result = new WorkCompleted(1, WorkKind.Train, 0, 1, 2, 1.5, 1, 3, null);

        _proxy.Tell(new RemoteWorkCompleted(result, new TensorHandle("127.0.0.1", _workerChannel.Port, 5, StateLength)), TestActor);
        var plain = await ExpectMsgAsync<WorkFailed>(Patience);
        Assert.Contains("worker-z: tensor handle", plain.Reason);
        Assert.Contains("encoded as none, but this run compresses gradients as bf16", plain.Reason);

        _proxy.Tell(new RemoteWorkCompleted(result, new TensorHandle("127.0.0.1", _workerChannel.Port, 6, wire + 1, GradientCompression.BFloat16)), TestActor);
        var longer = await ExpectMsgAsync<WorkFailed>(Patience);
        Assert.Contains($"announces {wire + 1} floats; this model's result ({StateLength} state values, {ParameterCount} of them gradient) in bf16 has {wire}", longer.Reason);
    }

    [Fact]
    public async Task Without_compression_a_result_handle_of_the_wrong_length_is_refused_as_it_always_was()
    {
        await ConfigureAndRequestAsync(GradientCompression.None);
        var result = new WorkCompleted(1, WorkKind.Train, 0, 1, 2, 1.5, 1, 3, null);

        _proxy.Tell(new RemoteWorkCompleted(result, new TensorHandle("127.0.0.1", _workerChannel.Port, 7, StateLength + 1)), TestActor);

        var refused = await ExpectMsgAsync<WorkFailed>(Patience);
        Assert.Contains($"announces {StateLength + 1} floats, the model's state has {StateLength}", refused.Reason);
    }

    /// <summary>Stands in for the node's worker actor: hands what the endpoint sends to a probe, sender kept.</summary>
    private sealed class ForwardingActor : ReceiveActor
    {
        public ForwardingActor(IActorRef target) => ReceiveAny(message => target.Forward(message));
    }
}
