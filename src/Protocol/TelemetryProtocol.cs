using MessagePack;

namespace Distributed.Protocol;

// What operators see of a run beyond its progress: where each step's time went, and gradient health. The
// coordinator sends these to its observer next to StepCompleted; workers send ShardHealth inside WorkCompleted.

/// <summary>How one rectifier layer fired on a shard (see src/Model/GradientHealth/LiveActivationStatistics.cs).</summary>
[MessagePackObject]
public sealed record LayerActivity(
    [property: Key(0)] string Layer,
    [property: Key(1)] double ActiveFraction,
    [property: Key(2)] double DeadFraction,
    [property: Key(3)] double CoActivation);

/// <summary>
/// A worker's gradient-health measurements on one training shard: rectifier activity per layer and the
/// shattering autocorrelation (index k = lag k + 1) of the loss's input gradient along a path between two samples.
/// </summary>
[MessagePackObject]
public sealed record ShardHealth(
    [property: Key(0)] int Samples,
    [property: Key(1)] LayerActivity[] Layers,
    [property: Key(2)] double[] ShatteringAutocorrelation);

/// <summary>
/// One shard of a step as the coordinator saw it. Times are milliseconds since the step started, on the
/// coordinator's clock; compute and health are the worker's own measurements, <see cref="CpuMilliseconds"/> the
/// compute thread's CPU time over the computation (0 from a worker that does not measure it).
/// </summary>
[MessagePackObject]
public sealed record ShardTiming(
    [property: Key(0)] int Shard,
    [property: Key(1)] string Worker,
    [property: Key(2)] int Samples,
    [property: Key(3)] double SentMilliseconds,
    [property: Key(4)] double ReceivedMilliseconds,
    [property: Key(5)] double ComputeMilliseconds,
    [property: Key(6)] double HealthMilliseconds,
    [property: Key(7)] int Attempts,
    [property: Key(8)] double CpuMilliseconds = 0);

/// <summary>
/// Where one training step's time went. <see cref="StartedMilliseconds"/> is on the run's clock; the other times
/// are relative to it: the last shard arrived at <see cref="ShardsDoneMilliseconds"/>, the parameter server's
/// answer at <see cref="AppliedMilliseconds"/>.
/// </summary>
[MessagePackObject]
public sealed record StepTimings(
    [property: Key(0)] long Step,
    [property: Key(1)] int Epoch,
    [property: Key(2)] double StartedMilliseconds,
    [property: Key(3)] double ShardsDoneMilliseconds,
    [property: Key(4)] double AppliedMilliseconds,
    [property: Key(5)] double AggregationMilliseconds,
    [property: Key(6)] double OptimizerMilliseconds,
    [property: Key(7)] ShardTiming[] Shards) : IProtocolMessage;

/// <summary>
/// Everything needed to judge gradient health at one step: the weights before and after the update, the averaged
/// gradient that produced it, and each shard's worker-side measurements.
/// </summary>
[MessagePackObject]
public sealed record HealthSample(
    [property: Key(0)] long Step,
    [property: Key(1)] int Epoch,
    [property: Key(2)] float[] WeightsBefore,
    [property: Key(3)] float[] WeightsAfter,
    [property: Key(4)] float[] Gradient,
    [property: Key(5)] ShardHealth[] Shards,
    [property: Key(6)] double LearningRate) : IProtocolMessage;
