namespace Distributed.Worker.Faults;

/// <summary>
/// The failures one worker rehearses, and what happens at a given training shard. Pure: the worker actor counts its
/// training shards and asks.
/// </summary>
/// <param name="CrashExitsProcess">A worker node's crash ends its process (like SIGKILL); an in-process worker's stops its actor.</param>
public sealed record FaultPlan(IReadOnlyList<Fault> Faults, bool CrashExitsProcess = false)
{
    public static FaultPlan None { get; } = new([]);

    public bool IsEmpty => Faults.Count == 0;

    /// <summary>True when a one-shot fault (nan, crash, hang) of <paramref name="kind"/> is due at this training shard.</summary>
    public bool Fires(FaultKind kind, long trainingShard) =>
        Faults.Any(f => f.Kind == kind && kind != FaultKind.Slow && f.AtShard == trainingShard);

    /// <summary>How many times as long a shard takes once <paramref name="trainingShard"/> training shards have started: 1 when not slowed.</summary>
    public double Slowdown(long trainingShard) =>
        Faults.Where(f => f.Kind == FaultKind.Slow && f.AtShard <= trainingShard).Select(f => f.Factor).DefaultIfEmpty(1).Max();

    public override string ToString() => IsEmpty ? "none" : string.Join(",", Faults);
}
