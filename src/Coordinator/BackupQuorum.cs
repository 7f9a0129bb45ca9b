using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>
/// Backup workers (Chen et al. 2016, "Revisiting Distributed Synchronous SGD"): a training round is cut into one
/// shard per live worker as always, but the step is applied as soon as all but <c>b</c> of its shards are in; the
/// shards still missing then are abandoned, and their samples count as skipped, not applied. Which shards go in is
/// decided by arrival (the first ones), never by index, so the slowest workers are the ones left out; the parameter
/// server sums the applied shards in shard order, so the result is reproducible given that set. With b = 0, or for
/// an evaluation pass (every test sample counts), the quorum is every shard: exactly the synchronous round.
/// Pure: the coordinator counts results and asks.
/// </summary>
public sealed record BackupQuorum(int Shards, int Required)
{
    /// <summary>
    /// The quorum of a round of <paramref name="shards"/> shards. When no more shards than <paramref name="backupWorkers"/>
    /// are there (fewer than b + 1 live workers), the round waits for all of them: a step needs at least one shard,
    /// and cutting it to fewer than asked would be a different b.
    /// </summary>
    public static BackupQuorum For(WorkKind kind, int shards, int backupWorkers)
    {
        if (shards < 1) throw new ArgumentOutOfRangeException(nameof(shards), shards, "a round has at least one shard");
        if (backupWorkers < 0) throw new ArgumentOutOfRangeException(nameof(backupWorkers), backupWorkers, "backup workers must be >= 0");
        return kind == WorkKind.Train && shards > backupWorkers ? new BackupQuorum(shards, shards - backupWorkers) : new BackupQuorum(shards, shards);
    }

    /// <summary>True when a training round with <paramref name="backupWorkers"/> &gt; 0 had to wait for every shard (too few live workers).</summary>
    public static bool TooFewWorkers(WorkKind kind, int shards, int backupWorkers) => kind == WorkKind.Train && backupWorkers > 0 && shards <= backupWorkers;

    /// <summary>Shards the round may go without.</summary>
    public int Spare => Shards - Required;

    /// <summary>The step can be applied with <paramref name="results"/> accepted shard results.</summary>
    public bool IsMet(int results) => results >= Required;

    /// <summary>
    /// A shard lost its worker (gone, failed, missed its deadline, refused): it need not be computed again when the
    /// shards with a result and those still being computed elsewhere can reach the quorum without it. It is then
    /// left waiting (a joining worker may still take it), and abandoned if the quorum is met first.
    /// </summary>
    public bool CanLetGo(int results, int runningElsewhere) => Spare > 0 && results + runningElsewhere >= Required;
}
