using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>
/// The book of the round in flight (a training step or an evaluation pass): its shards, who holds each, and which
/// results count. Only the first matching result for a shard of the current round is accepted, so no gradient is
/// applied twice or dropped. Round ids grow over the coordinator's life, so an answer to an older round is recognised.
/// </summary>
public sealed class RoundBook<TWorker> where TWorker : class
{
    private long _nextId = 1;

    public Round? Current { get; private set; }

    public Round Open(WorkKind kind, int epoch, long step, int[][] shards, double startedMilliseconds)
    {
        Current = new Round(_nextId++, kind, epoch, step, shards.Select((indices, i) => new ShardTask(i, indices)).ToArray(), startedMilliseconds);
        return Current;
    }

    public void Close() => Current = null;

    /// <summary>The shard a message names, when it belongs to the current round and the index is one of its shards.</summary>
    public ShardTask? Find(long round, int shard) =>
        Current is { } current && current.Id == round && shard >= 0 && shard < current.Shards.Length ? current.Shards[shard] : null;

    /// <summary>
    /// Whether a worker's answer counts for its shard: it must name this run and the current round, come from a
    /// worker the shard was given to, be the shard's first answer, and match the step's weights version, the
    /// shard's sample count and the state length; its loss must be a finite number.
    /// </summary>
    public Admission Admit(WorkCompleted result, TWorker from, long runId, long weightsVersion, int stateLength)
    {
        if (result.RunId != runId || Find(result.Round, result.Shard) is not { } shard) return Admission.RoundOver;
        if (!shard.WasGivenTo(from)) return Admission.NotAssigned;
        if (shard.Result is not null) return Admission.AlreadyAnswered;
        var round = Current!;
        if (result.WeightsVersion != weightsVersion || result.Samples != shard.Indices.Length
            || (round.Kind == WorkKind.Train && result.Buffer?.Length != stateLength && result is not { Buffer: null, Parked: not null }))
            return Admission.Mismatch;
        if (!double.IsFinite(result.LossSum)) return Admission.NotFinite;
        return Admission.Accepted;
    }

    public enum Admission { Accepted, RoundOver, NotAssigned, AlreadyAnswered, Mismatch, NotFinite }

    public sealed class Round(long id, WorkKind kind, int epoch, long step, ShardTask[] shards, double startedMilliseconds)
    {
        public long Id { get; } = id;
        public WorkKind Kind { get; } = kind;
        public int Epoch { get; } = epoch;
        public long Step { get; } = step;
        public ShardTask[] Shards { get; } = shards;
        public double StartedMilliseconds { get; } = startedMilliseconds;
        public double ShardsDoneMilliseconds { get; set; }

        public bool IsComplete => Shards.All(s => s.Result is not null);
        public IEnumerable<ShardTask> HeldBy(TWorker worker) => Shards.Where(s => s.Result is null && ReferenceEquals(s.Assignee, worker));
        public IEnumerable<ShardTask> Orphans => Shards.Where(s => s.Result is null && s.Assignee is null);
        public int Samples => Shards.Sum(s => s.Result!.Samples);
        public double LossSum => Shards.Sum(s => s.Result!.LossSum);
        public int Correct => Shards.Sum(s => s.Result!.Correct);
    }

    public sealed class ShardTask(int index, int[] indices)
    {
        public int Index { get; } = index;
        public int[] Indices { get; } = indices;
        private readonly List<TWorker> _givenTo = [];
        private readonly List<TWorker> _nonFiniteFrom = [];

        public TWorker? Assignee { get; private set; }
        public int Attempts { get; private set; }
        public WorkCompleted? Result { get; private set; }
        public double SentMilliseconds { get; private set; }
        public double ReceivedMilliseconds { get; private set; }
        public string? CompletedBy { get; private set; }

        /// <summary>The workers whose results for this shard were refused because they held non-finite values.</summary>
        public IReadOnlyList<TWorker> NonFiniteFrom => _nonFiniteFrom;

        /// <summary>The worker whose result was accepted (until it is refused).</summary>
        public TWorker? CompletedByWorker { get; private set; }

        /// <summary>The idle worker that computes a speculative copy of this shard while its assignee straggles; at most one.</summary>
        public TWorker? SpeculatedTo { get; private set; }
        public double CopySentMilliseconds { get; private set; }

        /// <summary>The accepted result came from the speculative copy, not from the shard's assignee.</summary>
        public bool WonByCopy => Result is not null && SpeculatedTo is not null && ReferenceEquals(CompletedByWorker, SpeculatedTo);

        /// <summary>When the accepted result's request was sent: the copy's when the copy won.</summary>
        public double WinnerSentMilliseconds => WonByCopy ? CopySentMilliseconds : SentMilliseconds;

        /// <summary>Send to accepted result, for the request that produced it: what a shard took on its worker, queue and transfer included.</summary>
        public double TurnaroundMilliseconds => ReceivedMilliseconds - WinnerSentMilliseconds;

        public bool WasGivenTo(TWorker worker) => _givenTo.Any(w => ReferenceEquals(w, worker));

        public void AssignTo(TWorker worker, double sentMilliseconds)
        {
            if (!WasGivenTo(worker)) _givenTo.Add(worker);
            Assignee = worker;
            Attempts++;
            SentMilliseconds = sentMilliseconds;
        }

        /// <summary>
        /// The same shard also goes to <paramref name="worker"/>; the assignee keeps it (and its deadline), and
        /// whichever result comes first counts. Not an attempt: nothing was lost.
        /// </summary>
        public void Speculate(TWorker worker, double sentMilliseconds)
        {
            if (SpeculatedTo is not null) throw new InvalidOperationException($"shard {Index} already has a speculative copy");
            if (Result is not null) throw new InvalidOperationException($"shard {Index} already has a result");
            if (!WasGivenTo(worker)) _givenTo.Add(worker);
            SpeculatedTo = worker;
            CopySentMilliseconds = sentMilliseconds;
        }

        /// <summary>Nobody can take the shard now; it waits for a worker to join.</summary>
        public void Orphan() => Assignee = null;

        public void Complete(WorkCompleted result, TWorker worker, string completedBy, double receivedMilliseconds)
        {
            Result = result;
            CompletedByWorker = worker;
            CompletedBy = completedBy;
            ReceivedMilliseconds = receivedMilliseconds;
        }

        /// <summary>The result held non-finite values: it no longer counts, and the shard must be computed again.</summary>
        public void RefuseNonFinite(TWorker worker)
        {
            if (!_nonFiniteFrom.Any(w => ReferenceEquals(w, worker))) _nonFiniteFrom.Add(worker);
            Result = null;
            CompletedByWorker = null;
            CompletedBy = null;
        }
    }
}
