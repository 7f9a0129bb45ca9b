using MessagePack;

namespace Distributed.Protocol;

// What the coordinator tells a worker, and what the worker answers.

public enum WorkKind { Train, Evaluate }

/// <summary>
/// How a worker rounds the gradient it pushes (what is sent, not how it computes: that is <see cref="ModelSpec.Precision"/>).
/// With 16-bit compression the worker keeps the rounding residual and adds it to its next gradient (error feedback),
/// and between nodes the gradient crosses the tensor channel as 16-bit values.
/// </summary>
public enum GradientCompression { None, Float16, BFloat16 }

/// <summary>
/// Build a replica of this model and open this dataset; answered with <see cref="WorkerConfigured"/>.
/// <see cref="Compression"/> says how the worker rounds the gradients it sends back.
/// <see cref="LabelSmoothing"/> ε: a training shard's loss is the cross-entropy against (1 − ε)·one-hot + ε/classes
/// (evaluation reports the plain cross-entropy). <see cref="FlipAveragedEvaluation"/>: an evaluation shard classifies
/// each image by the mean of its logits and those of its mirror image. Both are the same on every worker, so
/// synchronous SGD stays exact.
/// </summary>
[MessagePackObject]
public sealed record ConfigureWorker(
    [property: Key(0)] ModelSpec Model,
    [property: Key(1)] DataSpec Data,
    [property: Key(2)] int Seed,
    [property: Key(3)] GradientCompression Compression = GradientCompression.None,
    [property: Key(4)] double LabelSmoothing = 0,
    [property: Key(5)] bool FlipAveragedEvaluation = false) : IProtocolMessage;

[MessagePackObject]
/// <see cref="DataFingerprint"/> identifies the data the worker opened (sizes and sampled bytes, hashed), so the
/// coordinator can tell workers with different data apart and checkpoints can record what a run trained on.
/// <see cref="ParameterCount"/> is where the gradient ends in a result buffer (the running statistics follow):
/// a node needs it to decode a compressed gradient; 0 from a worker that does not say.
/// <see cref="ComputeWarning"/> is what the operator should know about how this worker's hardware computes the run
/// (bf16 asked of a CPU that emulates it); null when nothing.
public sealed record WorkerConfigured(
    [property: Key(0)] string WorkerName,
    [property: Key(1)] int StateLength,
    [property: Key(2)] int TrainCount,
    [property: Key(3)] int TestCount,
    [property: Key(4)] string DataFingerprint = "",
    [property: Key(5)] int ParameterCount = 0,
    [property: Key(6)] string? ComputeWarning = null) : IProtocolMessage;

/// <summary>
/// One shard of one round: a training step (gradients wanted) or an evaluation pass. <see cref="State"/> holds
/// the weights of <see cref="WeightsVersion"/> when the coordinator believes the worker lacks them.
/// <see cref="RunId"/> names the coordinator's run (round numbers restart with each coordinator); the answer echoes it.
/// <see cref="ProbeHealth"/> asks a training shard to also measure gradient health (<see cref="ShardHealth"/>).
/// <see cref="OldestOpenRound"/> (bounded staleness, <c>--staleness s</c> ≥ 1): the oldest round still open when the
/// request was sent, since several training rounds are open at once; a worker drops a queued request only when its
/// round is older than that. 0 (synchronous mode, an older coordinator): only one round is open, the request's own.
/// <see cref="StateRanges"/> (range servers on server nodes): where the server nodes serve the ranges of that version,
/// set with the weights; the coordinator node's proxy sends those instead of the state, and <see cref="State"/> may
/// then be null (the coordinator did not fetch the state of that step). Never set in one process.
/// </summary>
[MessagePackObject]
public sealed record WorkRequest(
    [property: Key(0)] long Round,
    [property: Key(1)] WorkKind Kind,
    [property: Key(2)] int Epoch,
    [property: Key(3)] int Shard,
    [property: Key(4)] long WeightsVersion,
    [property: Key(5)] int[] SampleIndices,
    [property: Key(6)] float[]? State,
    [property: Key(7)] bool ProbeHealth = false,
    [property: Key(8)] long RunId = 0,
    [property: Key(9)] long OldestOpenRound = 0,
    [property: Key(10)] StateRangeHandle[]? StateRanges = null) : IProtocolMessage;

/// <summary>
/// The answer to a <see cref="WorkRequest"/>. For training, <see cref="Buffer"/> is
/// [mean-loss gradient over the shard | running statistics after the step], one contiguous buffer.
/// <see cref="ComputeMilliseconds"/> is the training work alone; health probes, when asked for, take
/// <see cref="HealthMilliseconds"/> on top. With range servers on server nodes the buffer stays on the worker's node:
/// <see cref="Buffer"/> is null and <see cref="Parked"/> names it (the coordinator's node checked it and never fetches it).
/// </summary>
[MessagePackObject]
public sealed record WorkCompleted(
    [property: Key(0)] long Round,
    [property: Key(1)] WorkKind Kind,
    [property: Key(2)] int Shard,
    [property: Key(3)] long WeightsVersion,
    [property: Key(4)] int Samples,
    [property: Key(5)] double LossSum,
    [property: Key(6)] int Correct,
    [property: Key(7)] double ComputeMilliseconds,
    [property: Key(8)] float[]? Buffer,
    [property: Key(9)] ShardHealth? Health = null,
    [property: Key(10)] double HealthMilliseconds = 0,
    [property: Key(11)] long RunId = 0,
    [property: Key(12)] TensorHandle? Parked = null,
    [property: Key(13)] double ComputeCpuMilliseconds = 0) : IProtocolMessage;

/// <summary>The worker holds an older weights version than asked for and got no weights with the request.</summary>
[MessagePackObject]
public sealed record WeightsMissing(
    [property: Key(0)] long Round,
    [property: Key(1)] int Shard,
    [property: Key(2)] long HeldVersion) : IProtocolMessage;

/// <summary>The worker could not do the work (bad indices, a failure in the model); the shard goes elsewhere.</summary>
[MessagePackObject]
public sealed record WorkFailed(
    [property: Key(0)] long Round,
    [property: Key(1)] int Shard,
    [property: Key(2)] string Reason) : IProtocolMessage;

/// <summary>The worker could not build its replica or open the dataset; the reason names the file or value at fault.</summary>
[MessagePackObject]
public sealed record WorkerUnavailable(
    [property: Key(0)] string WorkerName,
    [property: Key(1)] string Reason) : IProtocolMessage;
