namespace Distributed.Worker.Faults;

/// <summary>
/// One rehearsed failure: <see cref="Kind"/> at the worker's <see cref="AtShard"/>-th training shard (counted from 1
/// by the worker actor itself, since no step number travels with a request); for <see cref="FaultKind.Slow"/>, from
/// that shard on, by <see cref="Factor"/>.
/// </summary>
public sealed record Fault(FaultKind Kind, long AtShard, double Factor = 1)
{
    public override string ToString() => Kind == FaultKind.Slow
        ? $"slow={Factor:G}x" + (AtShard > 1 ? $"@{AtShard}" : "")
        : $"{(Kind == FaultKind.CrashAfterAnswer ? "crash-after" : Kind.ToString().ToLowerInvariant())}@{AtShard}";
}
