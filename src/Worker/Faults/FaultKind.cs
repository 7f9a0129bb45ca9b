namespace Distributed.Worker.Faults;

/// <summary>What a rehearsed failure does to a worker (see <see cref="FaultPlanParser"/> for the syntax).</summary>
public enum FaultKind
{
    /// <summary>The shard's gradient and loss come back as NaN, as after an overflow or a flipped bit.</summary>
    Nan,

    /// <summary>The worker dies: the in-process actor stops, a worker node's process ends at once.</summary>
    Crash,

    /// <summary>
    /// The worker answers the shard, then dies a moment later (its answer has left): a worker node whose result was
    /// accepted but is gone before the server nodes fetched it (`crash-after@K`).
    /// </summary>
    CrashAfterAnswer,

    /// <summary>The worker stops answering anything but stays alive and reachable.</summary>
    Hang,

    /// <summary>Every shard takes this many times as long (the worker sleeps for the difference).</summary>
    Slow,
}
