using System.Runtime.Serialization;
using MessagePack;
using MessagePack.Formatters;

namespace Distributed.Protocol;

// What the coordinator is told (by workers and by the host), and the progress it reports.

/// <summary>Sent by a worker (as the sender) to offer itself; the coordinator answers with <see cref="ConfigureWorker"/>.</summary>
[MessagePackObject]
public sealed record RegisterWorker([property: Key(0)] string WorkerName) : IProtocolMessage;

[MessagePackObject]
public sealed record GetTrainingStatus : IProtocolMessage
{
    public static GetTrainingStatus Instance { get; } = new();
}

/// <summary>
/// Where a worker stands with the coordinator; the one vocabulary of the coordinator, the dashboard, /metrics and
/// `distributed status`. It travels as its lower-case name, so the wire carries text as it always did.
/// </summary>
public enum WorkerState
{
    /// <summary>Registered, building its replica and loading the data.</summary>
    [EnumMember(Value = "joining")] Joining,
    [EnumMember(Value = "live")] Live,
    /// <summary>Missed a shard deadline: kept out of rotation until it answers again.</summary>
    [EnumMember(Value = "unreachable")] Unreachable,
    /// <summary>Its model or data does not match the run's, or it could not start.</summary>
    [EnumMember(Value = "rejected")] Rejected,
    /// <summary>Left the run (only the dashboard keeps departed workers).</summary>
    [EnumMember(Value = "gone")] Gone,
}

public static class WorkerStates
{
    /// <summary>The state as operators read it: "live", "joining", ...</summary>
    public static string Text(this WorkerState state) => state.ToString().ToLowerInvariant();
}

/// <summary>
/// One worker as the coordinator counts it. <see cref="SpeculativeCopies"/>: copies of other workers' straggling
/// shards it was sent; <see cref="SpeculativeWins"/>: those whose result came first and counted.
/// <see cref="ShardTimes"/>: its recent training shards' compute times (every shard it answered, counted or not);
/// <see cref="AbandonedShards"/>: its training shards a step went ahead without (<c>--backup-workers</c>).
/// <see cref="Staleness"/>: how stale the gradients of its applied training shards were (bounded staleness,
/// <c>--staleness s</c>); null from a coordinator that does not say.
/// </summary>
[MessagePackObject]
public sealed record WorkerStatus(
    [property: Key(0)] string Name,
    [property: Key(1), MessagePackFormatter(typeof(EnumAsStringFormatter<WorkerState>))] WorkerState State,
    [property: Key(2)] int ShardsCompleted,
    [property: Key(3)] double MeanShardMilliseconds,
    [property: Key(4)] int MissedDeadlines,
    [property: Key(5)] int SpeculativeCopies = 0,
    [property: Key(6)] int SpeculativeWins = 0,
    [property: Key(7)] ShardTimeSummary? ShardTimes = null,
    [property: Key(8)] int AbandonedShards = 0,
    [property: Key(9)] StalenessTally? Staleness = null);

/// <summary>
/// The staleness τ of applied training gradients: a shard of step t computed on weights version t − τ (τ = 0 in
/// synchronous mode; at most s with <c>--staleness s</c>). <see cref="Shards"/> counted, the sum of their τ and the largest.
/// </summary>
[MessagePackObject]
public sealed record StalenessTally(
    [property: Key(0)] long Shards,
    [property: Key(1)] long Sum,
    [property: Key(2)] int Max)
{
    public static StalenessTally Empty { get; } = new(0, 0, 0);

    [IgnoreMember]
    public double Mean => Shards == 0 ? 0 : (double)Sum / Shards;

    public StalenessTally Plus(int staleness) => new(Shards + 1, Sum + staleness, Math.Max(Max, staleness));

    public StalenessTally Plus(StalenessTally other) => new(Shards + other.Shards, Sum + other.Sum, Math.Max(Max, other.Max));
}

/// <summary>
/// A worker's recent training shard times in milliseconds (the worker's own compute measurement, a rehearsed
/// slowdown included): how many are summarised and their nearest-rank percentiles.
/// </summary>
[MessagePackObject]
public sealed record ShardTimeSummary(
    [property: Key(0)] int Count,
    [property: Key(1)] double P50,
    [property: Key(2)] double P90,
    [property: Key(3)] double P99,
    [property: Key(4)] double Max);

[MessagePackObject]
public sealed record TrainingStatus(
    [property: Key(0)] string Phase,
    [property: Key(1)] long Step,
    [property: Key(2)] int Epoch,
    [property: Key(3)] long TotalSteps,
    [property: Key(4)] WorkerStatus[] Workers,
    [property: Key(5)] double LastLoss,
    [property: Key(6)] double ImagesPerSecond) : IProtocolMessage;

/// <summary>
/// A training step whose gradient was applied, exactly once. <see cref="MaxStaleness"/>: the largest τ among its
/// shards (each computed on weights version t − τ); always 0 in synchronous mode. <see cref="ComputeMilliseconds"/> and
/// <see cref="ComputeCpuMilliseconds"/>: the applied shards' mean compute time and compute-thread CPU time (0: not measured).
/// </summary>
[MessagePackObject]
public sealed record StepCompleted(
    [property: Key(0)] long Step,
    [property: Key(1)] int Epoch,
    [property: Key(2)] int Samples,
    [property: Key(3)] double Loss,
    [property: Key(4)] double Accuracy,
    [property: Key(5)] double LearningRate,
    [property: Key(6)] double GradientNorm,
    [property: Key(7)] double StepMilliseconds,
    [property: Key(8)] int Workers,
    [property: Key(9)] int StepsPerEpoch,
    [property: Key(10)] int SkippedSamples = 0,
    [property: Key(11)] int MaxStaleness = 0,
    [property: Key(12)] double ComputeMilliseconds = 0,
    [property: Key(13)] double ComputeCpuMilliseconds = 0) : IProtocolMessage;

[MessagePackObject]
public sealed record EpochCompleted(
    [property: Key(0)] int Epoch,
    [property: Key(1)] double TrainLoss,
    [property: Key(2)] double TrainAccuracy,
    [property: Key(3)] double TestLoss,
    [property: Key(4)] double TestAccuracy,
    [property: Key(5)] double ImagesPerSecond,
    [property: Key(6)] double Seconds,
    [property: Key(7)] long Step,
    [property: Key(8)] SampleTally? Samples = null) : IProtocolMessage;

/// <summary>
/// The sample ledger of one epoch (or a whole run): how many training samples were applied exactly once, how many
/// were applied again (duplicated), how many the epoch's order planned but no applied step contained (dropped), and
/// how many were deliberately left out because their shard was abandoned by backup workers (skipped, not dropped).
/// A clean ledger has Duplicated = Dropped = 0; Applied + Skipped is then every planned sample.
/// </summary>
[MessagePackObject]
public sealed record SampleTally(
    [property: Key(0)] long Applied,
    [property: Key(1)] long Duplicated,
    [property: Key(2)] long Dropped,
    [property: Key(3)] long Skipped = 0)
{
    [IgnoreMember]
    public bool IsClean => Duplicated == 0 && Dropped == 0;

    public SampleTally Plus(SampleTally other) =>
        new(Applied + other.Applied, Duplicated + other.Duplicated, Dropped + other.Dropped, Skipped + other.Skipped);
}

[MessagePackObject]
public sealed record TrainingFinished(
    [property: Key(0)] long Steps,
    [property: Key(1)] long WeightsVersion,
    [property: Key(2)] float[] State,
    [property: Key(3)] double FinalTestAccuracy,
    [property: Key(4)] int ReassignedShards,
    [property: Key(5)] int DiscardedResults,
    [property: Key(6)] SampleTally? Samples = null,
    [property: Key(7)] int RefusedContributions = 0) : IProtocolMessage;

/// <summary>Something an operator should see: a shard reassigned, a worker lost, a result discarded.</summary>
[MessagePackObject]
public sealed record TrainingNotice(
    [property: Key(0)] string Text) : IProtocolMessage;

/// <summary>The run cannot go on (e.g. every worker fails the same shard); nothing more will be applied.</summary>
[MessagePackObject]
public sealed record TrainingFailed([property: Key(0)] string Reason, [property: Key(1)] long Step) : IProtocolMessage;
