using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Distributed.Protocol;
using Distributed.Protocol.Serialization;
using Distributed.Tests.Support;

namespace Distributed.Tests.Protocol;

public sealed class ProtocolSerializationTests : Akka.TestKit.Xunit2.TestKit
{
    public ProtocolSerializationTests() : base(AkkaTestConfig.WithProtocolSerialization(serializeEveryMessage: false)) { }

    private static readonly ModelSpec Model = ModelSpec.ResNet20FashionMnist with { ResidualScale = 0.5f, ZeroInitLastNorm = true };
    private static readonly DataSpec Data = new("fashion-mnist", "/data", 2, true, 100, 50);
    private static readonly ShardHealth Health = new(64, [new LayerActivity("layer1.0.relu1", 0.5, 0.0625, 0.25)], [0.875, 0.5]);

    /// <summary>One instance of every protocol message, with every field set to a non-default value.</summary>
    public static readonly IReadOnlyList<IProtocolMessage> Samples =
    [
        new ConfigureWorker(Model, Data, 7, GradientCompression.BFloat16, LabelSmoothing: 0.1, FlipAveragedEvaluation: true),
        new WorkerConfigured("worker-1", 270_810, 60_000, 10_000, "5eedf00d", 269_434, "bf16 is emulated on this CPU"),
        new WorkerUnavailable("worker-2", "/data/train-images-idx3-ubyte.gz: truncated"),
        new WorkRequest(12, WorkKind.Train, 3, 1, 11, [5, 9, 2], [1.5f, -2.25f, float.Epsilon], ProbeHealth: true, RunId: 0x5eed_0000_0001),
        new WorkRequest(13, WorkKind.Evaluate, 3, 0, 11, [1], null),
        new WorkRequest(14, WorkKind.Train, 3, 2, 12, [4, 8], null, RunId: 0x5eed_0000_0001, OldestOpenRound: 12),
        new WorkRequest(15, WorkKind.Train, 3, 2, 12, [4, 8], null, StateRanges: [new StateRangeHandle(0, new TensorHandle("10.77.0.2", 4055, 8, 2))]),
        new WorkCompleted(12, WorkKind.Train, 1, 11, 3, 6.5, 2, 17.25, [0.125f, float.MaxValue, -0f], Health, 2.75, RunId: 0x5eed_0000_0001, ComputeCpuMilliseconds: 16.5),
        new WeightsMissing(12, 1, 9),
        new WorkFailed(12, 1, "sample index 70000 is outside the Train set of 60000"),
        new RegisterWorker("worker-3"),
        GetTrainingStatus.Instance,
        new TrainingStatus("training", 40, 1, 1407, [new WorkerStatus("worker-1", WorkerState.Live, 39, 51.5, 1)], 0.75, 1234.5),
        new TrainingStatus("training", 41, 1, 1407, [new WorkerStatus("worker-2", WorkerState.Live, 3, 151.5, 0, 2, 1,
            new ShardTimeSummary(64, 150.25, 300.5, 410, 455.75), AbandonedShards: 38)], 0.75, 1234.5),
        new TrainingStatus("training", 42, 1, 1407, [new WorkerStatus("worker-3", WorkerState.Live, 30, 61.5, 0, 0, 0,
            new ShardTimeSummary(30, 60.25, 70.5, 80, 81.75), Staleness: new StalenessTally(30, 17, 2))], 0.75, 1234.5),
        new StepCompleted(40, 1, 128, 0.5, 0.875, 0.1, 2.5, 101.5, 2, 469),
        new StepCompleted(41, 1, 85, 0.5, 0.875, 0.1, 2.5, 101.5, 3, 469, SkippedSamples: 43),
        new StepCompleted(42, 1, 128, 0.5, 0.875, 0.1, 2.5, 101.5, 3, 469, MaxStaleness: 2),
        new StepCompleted(43, 1, 128, 0.5, 0.875, 0.1, 2.5, 101.5, 2, 469, ComputeMilliseconds: 96.5, ComputeCpuMilliseconds: 94.25),
        new EpochCompleted(1, 0.4, 0.85, 0.35, 0.88, 1200, 50.5, 938, new SampleTally(60_000, 2, 1)),
        new EpochCompleted(2, 0.4, 0.85, 0.35, 0.88, 1200, 50.5, 1407, new SampleTally(40_000, 0, 0, 20_000)),
        new TrainingFinished(1407, 1407, [1f, 2f], 0.92, 3, 1, new SampleTally(180_000, 0, 0), 4),
        new ContributionsRefused(40, [1, 3], "shard 1: 2 non-finite values"),
        new StepRefused(41, "the update makes the weights non-finite"),
        new TrainingNotice("step 5 shard 1 reassigned"),
        new TrainingFailed("every worker failed", 5),
        new ApplyStep(40, 0.05, [new ShardContribution(0, 64, [1f, 2f]), new ShardContribution(1, 64, [3f, 4f])], IncludeGradient: true),
        new ApplyStep(41, 0.05, [new ShardContribution(0, 64, [], new TensorHandle("10.77.0.4", 4057, 3, 2))], HandlesSuffice: true),
        new StepApplied(40, 41, [0.5f, 0.25f], 0.05, 3.5, 0.75, 0.5, [0.125f, -0.5f]),
        new StepApplied(40, 41, null, 0.05, 3.5, StateRanges: [new StateRangeHandle(0, new TensorHandle("10.77.0.2", 4055, 8, 2))]),
        new StepTimings(40, 1, 5012.5, 98.5, 101.25, 0.75, 0.5,
            [new ShardTiming(0, "worker-0", 64, 0.25, 97.5, 90.5, 3.25, 1), new ShardTiming(1, "worker-1", 64, 0.5, 98.5, 95.25, 0, 2, CpuMilliseconds: 93.5)]),
        new HealthSample(50, 1, [1f, 2f], [0.9f, 2.1f], [0.5f, -0.5f], [Health], 0.05),
        GetParameters.Instance,
        new CurrentParameters(41, [0.5f], [0.1f], 41),
        new PrepareStep(40, 0.05, [new ShardContribution(0, 64, [1f, 2f]), new ShardContribution(1, 64, [3f, 4f])], IncludeGradient: true),
        new PrepareStep(41, 0.05, [new ShardContribution(0, 64, [1f, 2f])], HandlesSuffice: true),
        new StepPrepared(40, 2, PrepareOutcome.Ready, 12.25, [0.5f, 0.25f], [0.125f], [], 0.75, 0.5),
        new StepPrepared(40, 3, PrepareOutcome.Ready, 12.25, null, null, [], 0.75, 0.5, new TensorHandle("10.77.0.21", 39700, 8, 2)),
        new StepPrepared(41, 0, PrepareOutcome.Unreadable, double.NaN, null, null, [], LostShards: [1, 3], LostReason: "connection refused"),
        new StepPrepared(40, 1, PrepareOutcome.NonFinite, double.NaN, null, null, [new NonFiniteFinding(1, 2, 40, float.NaN)]),
        new CommitStep(40),
        new AbortStep(41),
        GetRange.Instance,
        new CurrentRange(3, [0.5f, 1.5f], [0.25f]),
        new RemoteWorkRequest(new WorkRequest(12, WorkKind.Train, 3, 1, 11, [5, 9, 2], null), new TensorHandle("10.77.0.1", 4054, -7, 270_810)),
        new RemoteWorkRequest(new WorkRequest(12, WorkKind.Train, 3, 1, 11, [5, 9, 2], null), null, 2,
            [new StateRangeHandle(0, new TensorHandle("10.77.0.2", 4055, 8, 135_405)), new StateRangeHandle(135_405, new TensorHandle("10.77.0.3", 4056, 9, 135_405))]),
        new RemoteWorkRequest(new WorkRequest(13, WorkKind.Evaluate, 3, 0, 11, [1], null), null),
        new RemoteWorkCompleted(new WorkCompleted(12, WorkKind.Train, 1, 11, 3, 6.5, 2, 17.25, null), new TensorHandle("10.77.0.11", 39609, 42, 136_093, GradientCompression.Float16)),
        new OpenRange(1, 135_408, 270_810, 270_810, 269_434, new TensorHandle("10.77.0.1", 4054, 5, 135_402), new TensorHandle("10.77.0.1", 4054, 6, 134_026),
            new TensorHandle("10.77.0.1", 4054, 7, 134_026), 0.9, true, 5e-4),
        new RangeOpened(1, "akka.tcp://distributed@10.77.0.21:40001"),
        new RangeFailed(1, "could not fetch its range"),
        new PrepareRemoteStep(40, 0.05, [new RemoteContribution(0, 64, new TensorHandle("10.77.0.11", 39609, 42, 136_093, GradientCompression.BFloat16))],
            true, GradientCompression.BFloat16),
        new RemoteStepPrepared(40, 1, PrepareOutcome.Ready, 12.25, new TensorHandle("10.77.0.21", 39700, 8, 135_402), null,
            [new NonFiniteFinding(0, 1, 135_500, float.PositiveInfinity)], 0.75, 0.5),
        new RemoteStepPrepared(41, 0, PrepareOutcome.Unreadable, double.NaN, null, null, [], 0, 0, [1, 3], "connection refused"),
        new ContributionsLost(41, [1, 3], "connection refused"),
        new RemoteCurrentRange(1, new TensorHandle("10.77.0.21", 39700, 9, 135_402), new TensorHandle("10.77.0.21", 39700, 10, 134_026)),
    ];

    [Fact]
    public void Every_protocol_message_type_has_a_round_trip_sample()
    {
        var sampled = Samples.Select(s => s.GetType()).ToHashSet();
        var missing = ProtocolSerializer.MessageTypes.Where(t => !sampled.Contains(t)).Select(t => t.Name).ToList();
        Assert.True(missing.Count == 0, $"protocol messages without a round-trip sample: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_protocol_message_round_trips_through_akka_serialization_unchanged()
    {
        var serialization = Sys.Serialization;
        foreach (var message in Samples)
        {
            var serializer = serialization.FindSerializerFor(message);
            Assert.IsType<ProtocolSerializer>(serializer);
            var bytes = serializer.ToBinary(message);
            var manifest = Serialization.ManifestFor(serializer, message);
            var copy = serialization.Deserialize(bytes, serializer.Identifier, manifest);
            Assert.Equal(Canonical(message), Canonical(copy));
        }
    }

    [Fact]
    public void Float_arrays_travel_as_one_binary_blob_of_four_bytes_per_value()
    {
        var state = Enumerable.Range(0, 100_000).Select(i => i * 0.001f).ToArray();
        var bytes = Sys.Serialization.FindSerializerFor(new StepApplied(1, 1, state, 0, 0)).ToBinary(new StepApplied(1, 1, state, 0, 0));
        Assert.InRange(bytes.Length, 400_000, 400_100);
    }

    [Fact]
    public void Serializer_refuses_a_type_outside_the_protocol()
    {
        var serializer = new ProtocolSerializer((ExtendedActorSystem)Sys);
        var error = Assert.Throws<SerializationException>(() => serializer.Manifest(new NotAProtocolMessage(1)));
        Assert.Contains(nameof(NotAProtocolMessage), error.Message);
    }

    [Fact]
    public void Serializer_refuses_an_unknown_manifest_from_the_wire()
    {
        var serializer = new ProtocolSerializer((ExtendedActorSystem)Sys);
        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary([0x90], "System.Diagnostics.Process"));
        Assert.Contains("System.Diagnostics.Process", error.Message);
    }

    /// <summary>
    /// Keys are the wire format: a coordinator and a dashboard of different builds must agree on them. Both features
    /// added a field to StepCompleted after key 9; backup workers' SkippedSamples took key 10 first, and bounded
    /// staleness's MaxStaleness is key 11, so a key swap or reuse shows here as values in the wrong places.
    /// </summary>
    [Fact]
    public void Step_completed_keeps_skipped_samples_at_key_10_and_max_staleness_at_key_11()
    {
        var step = new StepCompleted(42, 1, 128, 0.5, 0.875, 0.1, 2.5, 101.5, 3, 469, SkippedSamples: 43, MaxStaleness: 2);
        var fields = MessagePack.MessagePackSerializer.Deserialize<object[]>(
            MessagePack.MessagePackSerializer.Serialize(step, ProtocolSerializer.Options), ProtocolSerializer.Options);
        Assert.Equal(14, fields.Length);
        Assert.Equal((43L, 2L), (Convert.ToInt64(fields[10]), Convert.ToInt64(fields[11])));
    }

    [Fact]
    public void Worker_status_keeps_backup_keys_7_and_8_and_staleness_at_key_9()
    {
        var status = new WorkerStatus("worker-3", WorkerState.Live, 30, 61.5, 0, 0, 0, new ShardTimeSummary(30, 60.25, 70.5, 80, 81.75), 5,
            new StalenessTally(30, 17, 2));
        var fields = MessagePack.MessagePackSerializer.Deserialize<object[]>(
            MessagePack.MessagePackSerializer.Serialize(status, ProtocolSerializer.Options), ProtocolSerializer.Options);
        Assert.Equal(10, fields.Length);
        Assert.Equal(5, fields[7] is object[] times ? times.Length : -1);
        Assert.Equal(5L, Convert.ToInt64(fields[8]));
        Assert.Equal([30L, 17L, 2L], ((object[])fields[9]).Select(Convert.ToInt64));
    }

    /// <summary>Records compare arrays by reference, so compare their serialized form instead.</summary>
    private static string Canonical(object message) =>
        MessagePack.MessagePackSerializer.ConvertToJson(
            MessagePack.MessagePackSerializer.Serialize(message.GetType(), message, ProtocolSerializer.Options)) + message.GetType().Name;

    private sealed record NotAProtocolMessage(int Value);
}
