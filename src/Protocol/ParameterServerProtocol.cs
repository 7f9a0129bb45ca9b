using MessagePack;

namespace Distributed.Protocol;

// What the parameter server is told, and what it answers.

/// <summary>One shard's contribution to a step: its sample count and its [gradient | running statistics] buffer.</summary>
[MessagePackObject]
public sealed record ShardContribution(
    [property: Key(0)] int Shard,
    [property: Key(1)] int Samples,
    [property: Key(2)] float[] Buffer);

/// <summary>
/// Every shard of a step, in shard order, each exactly once; <see cref="IncludeGradient"/> asks for the averaged
/// gradient back (health steps). The shard buffers pass to the parameter server, which returns them to
/// the tensor buffer pool once averaged: the sender must not touch them afterwards.
/// </summary>
[MessagePackObject]
public sealed record ApplyStep(
    [property: Key(0)] long Step,
    [property: Key(1)] double LearningRate,
    [property: Key(2)] ShardContribution[] Shards,
    [property: Key(3)] bool IncludeGradient = false) : IProtocolMessage;

/// <summary>The new weights, with how long averaging and the optimizer took (and the averaged gradient when asked).</summary>
[MessagePackObject]
public sealed record StepApplied(
    [property: Key(0)] long Step,
    [property: Key(1)] long WeightsVersion,
    [property: Key(2)] float[] State,
    [property: Key(3)] double LearningRate,
    [property: Key(4)] double GradientNorm,
    [property: Key(5)] double AggregationMilliseconds = 0,
    [property: Key(6)] double OptimizerMilliseconds = 0,
    [property: Key(7)] float[]? Gradient = null) : IProtocolMessage;

[MessagePackObject]
public sealed record GetParameters : IProtocolMessage
{
    public static GetParameters Instance { get; } = new();
}

[MessagePackObject]
public sealed record CurrentParameters(
    [property: Key(0)] long WeightsVersion,
    [property: Key(1)] float[] State,
    [property: Key(2)] float[] Momentum,
    [property: Key(3)] long StepsApplied) : IProtocolMessage;

/// <summary>
/// The parameter server did not apply <see cref="Step"/>: the named shards' contributions hold values that are
/// not finite (NaN or infinity). The state stays as it was; the coordinator has those shards computed again.
/// </summary>
[MessagePackObject]
public sealed record ContributionsRefused(
    [property: Key(0)] long Step,
    [property: Key(1)] int[] Shards,
    [property: Key(2)] string Reason) : IProtocolMessage;

/// <summary>
/// The parameter server did not apply <see cref="Step"/>: every contribution was finite but the update would have
/// made the weights non-finite (the model diverged). The state stays the last good one.
/// </summary>
[MessagePackObject]
public sealed record StepRefused(
    [property: Key(0)] long Step,
    [property: Key(1)] string Reason) : IProtocolMessage;
