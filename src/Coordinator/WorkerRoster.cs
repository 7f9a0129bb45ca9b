using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>
/// The workers of a run and where each stands: joining, live, unreachable (missed a deadline), rejected, gone.
/// Decides who gets work: live workers first, unreachable ones only when nobody else is left, the least loaded
/// first. It is the one count of the training shards each worker delivered: a departed worker stays listed as
/// gone, and one that comes back under the same name (a rejoined node) keeps its count.
/// Keyed by whatever identifies a worker to the caller (an actor ref in the coordinator), so it is testable alone.
/// </summary>
public sealed class WorkerRoster<TWorker> where TWorker : notnull
{
    private readonly Dictionary<TWorker, Entry> _workers = new();

    private readonly Dictionary<string, Entry> _gone = new(StringComparer.Ordinal);

    /// <summary>Workers present (any state but gone).</summary>
    public int Count => _workers.Count;
    public IEnumerable<Entry> All => _workers.Values.Concat(_gone.Values).OrderBy(w => w.Name, StringComparer.Ordinal);
    public int LiveCount => _workers.Values.Count(w => w.State is WorkerState.Live or WorkerState.Unreachable);
    public bool AllRejected => _workers.Count > 0 && _workers.Values.All(w => w.State == WorkerState.Rejected);

    /// <summary>False when the worker is already known (a repeated registration).</summary>
    public bool Register(TWorker worker, string name)
    {
        if (_workers.ContainsKey(worker)) return false;
        var entry = new Entry(worker, name);
        if (_gone.Remove(name, out var earlier)) entry.Inherit(earlier);
        _workers[worker] = entry;
        return true;
    }

    public bool TryGet(TWorker worker, out Entry entry) => _workers.TryGetValue(worker, out entry!);

    /// <summary>The worker left: it gets no more work, and is listed as gone with what it delivered.</summary>
    public bool Remove(TWorker worker, out Entry entry)
    {
        if (!_workers.Remove(worker, out entry!)) return false;
        entry.State = WorkerState.Gone;
        _gone[entry.Name] = entry;
        return true;
    }

    /// <summary>Live workers first; unreachable ones only when nobody else is left; ordered by name so dealing is reproducible.</summary>
    public List<Entry> Assignable()
    {
        var live = _workers.Values.Where(w => w.State == WorkerState.Live).OrderBy(w => w.Name, StringComparer.Ordinal).ToList();
        return live.Count > 0
            ? live
            : _workers.Values.Where(w => w.State == WorkerState.Unreachable).OrderBy(w => w.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Where a shard goes when its worker lost it: the least loaded assignable worker other than
    /// <paramref name="previous"/> if there is one, never one in <paramref name="exclude"/> (workers whose result for
    /// it was refused).
    /// </summary>
    public Entry? ReassignmentTarget(TWorker? previous, IReadOnlyCollection<TWorker>? exclude = null)
    {
        var assignable = Assignable().Where(w => exclude is null || !exclude.Contains(w.Worker)).ToList();
        var others = assignable.Where(w => previous is null || !EqualityComparer<TWorker>.Default.Equals(w.Worker, previous)).ToList();
        return (others.Count > 0 ? others : assignable).OrderBy(w => w.Outstanding).FirstOrDefault();
    }

    /// <summary>
    /// A training shard this worker computed was applied with staleness <paramref name="staleness"/>; a worker that
    /// has left since is found by name among the gone ones, and an unknown one is not counted.
    /// </summary>
    public void GradientApplied(TWorker? worker, string? name, int staleness)
    {
        var entry = worker is not null && _workers.TryGetValue(worker, out var present) ? present
            : name is not null && _gone.TryGetValue(name, out var gone) ? gone : null;
        entry?.GradientApplied(staleness);
    }

    public IReadOnlyList<WorkerStatus> Status() =>
        All.Select(w => new WorkerStatus(w.Name, w.State, w.Completed, w.Completed == 0 ? 0 : w.TotalMilliseconds / w.Completed, w.MissedDeadlines,
            w.SpeculativeCopies, w.SpeculativeWins, w.ShardTimes.Summary(), w.AbandonedShards, w.Staleness)).ToArray();

    /// <summary>One worker's standing and counters.</summary>
    public sealed class Entry(TWorker worker, string name)
    {
        public TWorker Worker { get; } = worker;
        public string Name { get; } = name;
        public WorkerState State { get; set; } = WorkerState.Joining;
        /// <summary>Why the worker was rejected, for the error when too few workers are left.</summary>
        public string? Reason { get; private set; }
        /// <summary>The weights version the worker holds, so weights travel only to workers that lack them.</summary>
        public long HeldVersion { get; set; } = -1;
        /// <summary>Shards sent and not yet answered; a worker computes them one after another.</summary>
        public int Outstanding { get; private set; }
        public int Completed { get; private set; }
        public double TotalMilliseconds { get; private set; }
        public int MissedDeadlines { get; private set; }
        /// <summary>Speculative copies of other workers' straggling shards this worker was given, and how many of them won.</summary>
        public int SpeculativeCopies { get; private set; }
        public int SpeculativeWins { get; private set; }
        /// <summary>The staleness of this worker's applied training gradients (all 0 in synchronous mode).</summary>
        public StalenessTally Staleness { get; private set; } = StalenessTally.Empty;

        public void GradientApplied(int staleness) => Staleness = Staleness.Plus(staleness);
        /// <summary>Its recent training shards' compute times, every answer counted (accepted, late, abandoned or beaten by a copy).</summary>
        public ShardTimeWindow ShardTimes { get; } = new();
        /// <summary>Its training shards that a step went ahead without (backup workers).</summary>
        public int AbandonedShards { get; private set; }

        public void Sent() => Outstanding++;

        public void ShardAbandoned() => AbandonedShards++;

        public void Answered() => Outstanding = Math.Max(0, Outstanding - 1);

        /// <summary>A training shard of this worker's was accepted (evaluation shards are not counted).</summary>
        public void Delivered(double computeMilliseconds)
        {
            Completed++;
            TotalMilliseconds += computeMilliseconds;
        }

        /// <summary>This worker was sent a speculative copy (counted apart from <see cref="Sent"/>, which it also is).</summary>
        public void CopyStarted() => SpeculativeCopies++;

        /// <summary>Its copy's result came before the straggler's and was accepted.</summary>
        public void CopyWon() => SpeculativeWins++;

        internal void Inherit(Entry earlier)
        {
            SpeculativeCopies += earlier.SpeculativeCopies;
            SpeculativeWins += earlier.SpeculativeWins;
            Completed += earlier.Completed;
            TotalMilliseconds += earlier.TotalMilliseconds;
            MissedDeadlines += earlier.MissedDeadlines;
            Staleness = Staleness.Plus(earlier.Staleness);
            AbandonedShards += earlier.AbandonedShards;
            ShardTimes.Inherit(earlier.ShardTimes);
        }

        /// <summary>Results refused for holding NaN or infinity.</summary>
        public int NonFiniteResults { get; private set; }

        /// <summary>
        /// Counts a refused non-finite result; a worker that does it <paramref name="limit"/> times is taken out of
        /// rotation (rejected) for the rest of the run. True when that just happened.
        /// </summary>
        public bool ReturnedNonFinite(int limit)
        {
            NonFiniteResults++;
            if (NonFiniteResults < limit || State == WorkerState.Rejected) return false;
            Reject($"returned non-finite values {NonFiniteResults} times");
            return true;
        }

        public void Reject(string reason)
        {
            State = WorkerState.Rejected;
            Reason = reason;
        }

        public void MissedDeadline()
        {
            State = WorkerState.Unreachable;
            MissedDeadlines++;
        }
    }
}
