using MessagePack;

namespace Distributed.Protocol;

// What the parameter server is told, and what it answers.

/// <summary>
/// One shard's contribution to a step: its sample count and its [gradient | running statistics] buffer. With range
/// servers on server nodes the buffer stays parked on the worker's node (<see cref="Parked"/>, possibly 16-bit
/// encoded) and <see cref="Buffer"/> is empty: each server node fetches its range of it from there.
/// </summary>
[MessagePackObject]
public sealed record ShardContribution(
    [property: Key(0)] int Shard,
    [property: Key(1)] int Samples,
    [property: Key(2)] float[] Buffer,
    [property: Key(3)] TensorHandle? Parked = null);

/// <summary>
/// Every shard of a step, in shard order, each exactly once; <see cref="IncludeGradient"/> asks for the averaged
/// gradient back (health steps). The shard buffers pass to the parameter server, which returns them to
/// the tensor buffer pool once averaged: the sender must not touch them afterwards. <see cref="HandlesSuffice"/>: the
/// coordinator does not need the new state's values after this step, only where they are served; range servers on
/// server nodes then answer with their ranges' handles and their values stay there (in one process it changes nothing).
/// </summary>
[MessagePackObject]
public sealed record ApplyStep(
    [property: Key(0)] long Step,
    [property: Key(1)] double LearningRate,
    [property: Key(2)] ShardContribution[] Shards,
    [property: Key(3)] bool IncludeGradient = false,
    [property: Key(4)] bool HandlesSuffice = false) : IProtocolMessage;

/// <summary>
/// The new weights, with how long averaging and the optimizer took (and the averaged gradient when asked).
/// <see cref="StateRanges"/> (range servers on server nodes): where each range of the new state is served, for the
/// workers to fetch; <see cref="State"/> is then null when the step was applied with <see cref="ApplyStep.HandlesSuffice"/>.
/// </summary>
[MessagePackObject]
public sealed record StepApplied(
    [property: Key(0)] long Step,
    [property: Key(1)] long WeightsVersion,
    [property: Key(2)] float[]? State,
    [property: Key(3)] double LearningRate,
    [property: Key(4)] double GradientNorm,
    [property: Key(5)] double AggregationMilliseconds = 0,
    [property: Key(6)] double OptimizerMilliseconds = 0,
    [property: Key(7)] float[]? Gradient = null,
    [property: Key(8)] StateRangeHandle[]? StateRanges = null) : IProtocolMessage;

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
/// The parameter server did not apply <see cref="Step"/>: the named shards' results could not be read where they were
/// parked (a worker died after its result was accepted, before every server node fetched its range of it). The step
/// was aborted in every range; the coordinator has those shards computed again and sends the step once more.
/// </summary>
[MessagePackObject]
public sealed record ContributionsLost(
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

// The parameter-server group and its range servers (--ps-shards K). The group (ParameterServerGroup) keeps the
// interface above towards the coordinator; behind it, K range servers each own a contiguous range [start, end) of the
// flat state and apply one step in two phases, so a step is applied by all of them or by none:
//   group → every server  PrepareStep   each averages its range of every shard and computes its tentative update
//   server → group        StepPrepared  Ready (with its tentative range and its gradient's sum of squares),
//                                       NonFinite (the shards whose range holds NaN/∞) or Diverged
//   group → every server  CommitStep    when all K are Ready: the tentative range becomes the state
//                         AbortStep     otherwise: the momentum goes back to what it was before the step
//   group → every server  GetRange      → CurrentRange (the range's state and momentum), to assemble one flat state.
// A server handles its messages in order, so a GetRange sent after CommitStep/AbortStep sees a whole number of steps.

/// <summary>
/// Phase one of a step for one range server: <see cref="Shards"/> hold whole [gradient | running statistics]
/// buffers (in one process the K servers share them, each reading only its range). The buffers stay the group's: a
/// server reads them and never returns them to the pool.
/// </summary>
[MessagePackObject]
public sealed record PrepareStep(
    [property: Key(0)] long Step,
    [property: Key(1)] double LearningRate,
    [property: Key(2)] ShardContribution[] Shards,
    [property: Key(3)] bool IncludeGradient = false,
    [property: Key(4)] bool HandlesSuffice = false) : IProtocolMessage;

/// <summary>How a range server's phase one ended.</summary>
public enum PrepareOutcome
{
    /// <summary>The averaged range is finite and so is the tentative update: ready to commit.</summary>
    Ready,
    /// <summary>The averaged range holds NaN or infinity: the contributions are refused.</summary>
    NonFinite,
    /// <summary>The averaged gradient is finite but the update makes weights non-finite: the model diverged.</summary>
    Diverged,
    /// <summary>
    /// A range server on a server node could not fetch its range of some shards' results from their workers (a worker
    /// died after its result was accepted): those contributions are lost and must be computed again (<see cref="StepPrepared.LostShards"/>).
    /// </summary>
    Unreadable,
}

/// <summary>The non-finite values one shard's buffer holds inside one server's range; indices are of the flat state.</summary>
[MessagePackObject]
public sealed record NonFiniteFinding(
    [property: Key(0)] int Shard,
    [property: Key(1)] int Count,
    [property: Key(2)] int FirstIndex,
    [property: Key(3)] float FirstValue);

/// <summary>
/// A range server's answer to <see cref="PrepareStep"/>. <see cref="SumOfSquares"/> is of its range's averaged
/// gradient (the group's gradient norm is the square root of the K sums); <see cref="State"/> is the tentative new
/// state of the range when <see cref="Outcome"/> is Ready, and <see cref="Gradient"/> its averaged gradient when asked.
/// A range server on a server node also names where it serves the tentative range (<see cref="StateHandle"/>, the
/// workers fetch it from there once the step commits); with <see cref="PrepareStep.HandlesSuffice"/> its values are not
/// fetched and <see cref="State"/> is null.
/// </summary>
[MessagePackObject]
public sealed record StepPrepared(
    [property: Key(0)] long Step,
    [property: Key(1)] int Server,
    [property: Key(2)] PrepareOutcome Outcome,
    [property: Key(3)] double SumOfSquares,
    [property: Key(4)] float[]? State,
    [property: Key(5)] float[]? Gradient,
    [property: Key(6)] NonFiniteFinding[] Findings,
    [property: Key(7)] double AggregationMilliseconds = 0,
    [property: Key(8)] double OptimizerMilliseconds = 0,
    [property: Key(9)] TensorHandle? StateHandle = null,
    [property: Key(10)] int[]? LostShards = null,
    [property: Key(11)] string? LostReason = null) : IProtocolMessage;

/// <summary>Phase two when every server was Ready: the tentative range becomes the server's state.</summary>
[MessagePackObject]
public sealed record CommitStep([property: Key(0)] long Step) : IProtocolMessage;

/// <summary>Phase two when any server was not Ready: the tentative range is dropped and the momentum restored.</summary>
[MessagePackObject]
public sealed record AbortStep([property: Key(0)] long Step) : IProtocolMessage;

[MessagePackObject]
public sealed record GetRange : IProtocolMessage
{
    public static GetRange Instance { get; } = new();
}

/// <summary>One range server's state and momentum (the momentum covers only the range's trainable part).</summary>
[MessagePackObject]
public sealed record CurrentRange(
    [property: Key(0)] int Server,
    [property: Key(1)] float[] State,
    [property: Key(2)] float[] Momentum) : IProtocolMessage;

// Range servers on server nodes (`--server-nodes N`, issue 13). Each range is a sharded entity on a node with the
// `server` role (entity id = range index); on the coordinator's node a link per range stands in for it towards the
// group, so the group's two-phase step is unchanged. Arrays never ride on Akka.Remote: every message below names
// them by tensor handles, and each side fetches what it needs (a range server only its range of each buffer).
//   link → entity   OpenRange          the range's initial state, momentum and decay mask, by handle
//   entity → link   RangeOpened / RangeFailed
//   link → entity   PrepareRemoteStep  per shard a handle of its whole [gradient | statistics] buffer
//   entity → link   RemoteStepPrepared the StepPrepared of its range server, arrays by handle
//   link → entity   CommitStep, AbortStep, GetRange (as in one process) → RemoteCurrentRange

/// <summary>
/// Opens (or reopens, for a new run) range server <see cref="Server"/> on a server node: it owns [<see cref="Start"/>,
/// <see cref="End"/>) of a flat state of <see cref="StateLength"/> values whose first <see cref="ParameterCount"/> are
/// trainable, and fetches its initial state, momentum and decay mask from the handles.
/// </summary>
[MessagePackObject]
public sealed record OpenRange(
    [property: Key(0)] int Server,
    [property: Key(1)] int Start,
    [property: Key(2)] int End,
    [property: Key(3)] int StateLength,
    [property: Key(4)] int ParameterCount,
    [property: Key(5)] TensorHandle State,
    [property: Key(6)] TensorHandle Momentum,
    [property: Key(7)] TensorHandle DecayMask,
    [property: Key(8)] double MomentumCoefficient,
    [property: Key(9)] bool Nesterov,
    [property: Key(10)] double WeightDecay) : IProtocolMessage;

/// <summary>Range server <see cref="Server"/> holds its range; <see cref="Node"/> is the server node's address, for reports.</summary>
[MessagePackObject]
public sealed record RangeOpened(
    [property: Key(0)] int Server,
    [property: Key(1)] string Node) : IProtocolMessage;

/// <summary>A range server node could not do what it was asked (a fetch failed, a handle was refused, it was never opened).</summary>
[MessagePackObject]
public sealed record RangeFailed(
    [property: Key(0)] int Server,
    [property: Key(1)] string Reason) : IProtocolMessage;

/// <summary>One shard's contribution to a step as a handle of its whole result buffer and how that buffer is encoded.</summary>
[MessagePackObject]
public sealed record RemoteContribution(
    [property: Key(0)] int Shard,
    [property: Key(1)] int Samples,
    [property: Key(2)] TensorHandle Buffer);

/// <summary>
/// <see cref="PrepareStep"/> for a range server on a server node: it fetches only its range of each shard's buffer
/// (<see cref="Encoding"/>: how the buffers' gradients are packed) and sums them in shard order, as in one process.
/// </summary>
[MessagePackObject]
public sealed record PrepareRemoteStep(
    [property: Key(0)] long Step,
    [property: Key(1)] double LearningRate,
    [property: Key(2)] RemoteContribution[] Shards,
    [property: Key(3)] bool IncludeGradient,
    [property: Key(4)] GradientCompression Encoding) : IProtocolMessage;

/// <summary><see cref="StepPrepared"/> from a server node: the tentative range and the averaged gradient (when asked) by handle.</summary>
[MessagePackObject]
public sealed record RemoteStepPrepared(
    [property: Key(0)] long Step,
    [property: Key(1)] int Server,
    [property: Key(2)] PrepareOutcome Outcome,
    [property: Key(3)] double SumOfSquares,
    [property: Key(4)] TensorHandle? State,
    [property: Key(5)] TensorHandle? Gradient,
    [property: Key(6)] NonFiniteFinding[] Findings,
    [property: Key(7)] double AggregationMilliseconds,
    [property: Key(8)] double OptimizerMilliseconds,
    [property: Key(9)] int[]? LostShards = null,
    [property: Key(10)] string? LostReason = null) : IProtocolMessage;

/// <summary><see cref="CurrentRange"/> from a server node, its state and momentum by handle.</summary>
[MessagePackObject]
public sealed record RemoteCurrentRange(
    [property: Key(0)] int Server,
    [property: Key(1)] TensorHandle State,
    [property: Key(2)] TensorHandle Momentum) : IProtocolMessage;
