using Distributed.Protocol;

namespace Distributed.Coordinator;

/// <summary>
/// The book of the rounds in flight (training steps or an evaluation pass): their shards, who holds each, and which
/// results count. Only the first matching result for a shard of an open round is accepted, so no gradient is
/// applied twice or dropped. Round ids grow over the coordinator's life, so an answer to an older round is recognised.
/// Synchronous training and evaluation keep one round open at a time; bounded staleness (<see cref="StepWindow"/>)
/// keeps several training rounds open, oldest first, and closes them in that order as their steps are applied.
/// A training round with backup workers is ready once its <see cref="BackupQuorum"/> of shards is in; the shards
/// still missing then are abandoned, and their answers are refused like a finished round's. The two are never
/// combined (TrainingPlan refuses it), so a book with several open rounds has no abandoned shards.
/// </summary>
public sealed class RoundBook<TWorker> where TWorker : class
{
    private readonly List<Round> _open = [];
    private long _nextId = 1;

    /// <summary>The oldest open round (the only one in synchronous mode), or null.</summary>
    public Round? Current => _open.Count > 0 ? _open[0] : null;

    /// <summary>The open rounds, oldest first.</summary>
    public IReadOnlyList<Round> OpenRounds => _open;

    /// <summary>The newest open round, or null.</summary>
    public Round? Newest => _open.Count > 0 ? _open[^1] : null;

    /// <param name="backupWorkers">Shards a training round may go without (<see cref="BackupQuorum"/>); evaluation rounds wait for all.</param>
    public Round Open(WorkKind kind, int epoch, long step, int[][] shards, double startedMilliseconds, int backupWorkers = 0)
    {
        var round = new Round(_nextId++, kind, epoch, step, shards.Select((indices, i) => new ShardTask(i, indices)).ToArray(), startedMilliseconds,
            BackupQuorum.For(kind, shards.Length, backupWorkers));
        _open.Add(round);
        return round;
    }

    /// <summary>Closes the oldest open round (the one whose step was just applied, or the finished evaluation).</summary>
    public void Close()
    {
        if (_open.Count > 0) _open.RemoveAt(0);
    }

    /// <summary>The shard a message names, when it belongs to an open round and the index is one of its shards.</summary>
    public ShardTask? Find(long round, int shard)
    {
        foreach (var open in _open)
        {
            if (open.Id == round) return shard >= 0 && shard < open.Shards.Length ? open.Shards[shard] : null;
        }
        return null;
    }

    /// <summary>
    /// The shard a free worker takes under bounded staleness: the first shard without a result or a holder of the
    /// oldest open round that has one; null when every open shard is held or done (the caller may then open the next step).
    /// </summary>
    /// A worker whose result for a shard was refused (non-finite) is not given that shard again.
    public ShardTask? NextUnassigned(TWorker worker)
    {
        foreach (var round in _open)
        {
            foreach (var shard in round.Shards)
            {
                if (shard.Result is null && !shard.Abandoned && shard.Assignee is null && !shard.NonFiniteFrom.Any(w => ReferenceEquals(w, worker))) return shard;
            }
        }
        return null;
    }

    /// <summary>
    /// Whether a worker's answer counts for its shard: it must name this run and an open round, come from a
    /// worker the shard was given to, be the shard's first answer, and match the step's weights version, the
    /// shard's sample count and the state length; its loss must be a finite number.
    /// </summary>
    public Admission Admit(WorkCompleted result, TWorker from, long runId, long weightsVersion, int stateLength) =>
        Admit(result, from, runId, (_, version) => version == weightsVersion, stateLength);

    /// <summary>
    /// As above, with the weights versions a round accepts decided by <paramref name="versionFits"/> (bounded
    /// staleness accepts any version within the bound, <see cref="StepWindow.Admits"/>).
    /// </summary>
    public Admission Admit(WorkCompleted result, TWorker from, long runId, Func<Round, long, bool> versionFits, int stateLength)
    {
        if (result.RunId != runId || Find(result.Round, result.Shard) is not { } shard) return Admission.RoundOver;
        if (!shard.WasGivenTo(from)) return Admission.NotAssigned;
        if (shard.Abandoned) return Admission.Abandoned;
        if (shard.Result is not null) return Admission.AlreadyAnswered;
        var round = shard.Round;
        if (!versionFits(round, result.WeightsVersion) || result.Samples != shard.Indices.Length
            || (round.Kind == WorkKind.Train && result.Buffer?.Length != stateLength && result is not { Buffer: null, Parked: not null }))
            return Admission.Mismatch;
        if (!double.IsFinite(result.LossSum)) return Admission.NotFinite;
        return Admission.Accepted;
    }

    public enum Admission { Accepted, RoundOver, NotAssigned, AlreadyAnswered, Mismatch, NotFinite, Abandoned }

    public sealed class Round
    {
        public Round(long id, WorkKind kind, int epoch, long step, ShardTask[] shards, double startedMilliseconds, BackupQuorum quorum)
        {
            Id = id;
            Kind = kind;
            Epoch = epoch;
            Step = step;
            Shards = shards;
            StartedMilliseconds = startedMilliseconds;
            Quorum = quorum;
            foreach (var shard in shards) shard.Round = this;
        }

        public long Id { get; }
        public WorkKind Kind { get; }
        public int Epoch { get; }
        public long Step { get; }
        public ShardTask[] Shards { get; }
        public double StartedMilliseconds { get; }
        public double ShardsDoneMilliseconds { get; set; }
        public BackupQuorum Quorum { get; }

        /// <summary>Every shard has a result (a synchronous round's condition).</summary>
        public bool IsComplete => Shards.All(s => s.Result is not null);

        /// <summary>Enough shards have a result to apply the step: all of them, or all but the backup workers' share.</summary>
        public bool IsReady => Quorum.IsMet(Shards.Count(s => s.Result is not null));

        /// <summary>The shards whose results go into the step, in shard order (the order the parameter server sums them in).</summary>
        public IEnumerable<ShardTask> Answered => Shards.Where(s => s.Result is not null);

        /// <summary>The shards the step went without.</summary>
        public IEnumerable<ShardTask> AbandonedShards => Shards.Where(s => s.Abandoned);

        /// <summary>Shards still owed a result: not answered and not abandoned.</summary>
        public IEnumerable<ShardTask> Unanswered => Shards.Where(s => s.Result is null && !s.Abandoned);

        public IEnumerable<ShardTask> HeldBy(TWorker worker) => Unanswered.Where(s => ReferenceEquals(s.Assignee, worker));
        public IEnumerable<ShardTask> Orphans => Unanswered.Where(s => s.Assignee is null);

        /// <summary>
        /// Whether a shard that just lost its worker need not be computed again: the answered shards and the open
        /// ones still held by a worker reach the quorum without it (<see cref="BackupQuorum.CanLetGo"/>).
        /// </summary>
        public bool CanLetGo(ShardTask lost) =>
            Quorum.CanLetGo(Answered.Count(), Unanswered.Count(s => !ReferenceEquals(s, lost) && s.Assignee is not null));

        /// <summary>
        /// The quorum is met: every shard without a result is abandoned, and its answers will be refused. Returns the
        /// shards abandoned now (none for a complete round).
        /// </summary>
        public IReadOnlyList<ShardTask> AbandonRest()
        {
            if (!IsReady) throw new InvalidOperationException($"round {Id} is not ready: {Answered.Count()} of {Quorum.Required} shards needed are in");
            var abandoned = Unanswered.ToList();
            foreach (var shard in abandoned) shard.Abandon();
            return abandoned;
        }

        public int Samples => Answered.Sum(s => s.Result!.Samples);
        public double LossSum => Answered.Sum(s => s.Result!.LossSum);
        public int Correct => Answered.Sum(s => s.Result!.Correct);
        public int SkippedSamples => AbandonedShards.Sum(s => s.Indices.Length);
    }

    public sealed class ShardTask(int index, int[] indices)
    {
        public int Index { get; } = index;
        public int[] Indices { get; } = indices;

        /// <summary>The round the shard belongs to (set as the round is made).</summary>
        public Round Round { get; internal set; } = null!;
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

        /// <summary>Nobody can take the shard now (or nobody need: backup workers); it waits for a worker to join.</summary>
        public void Orphan() => Assignee = null;

        /// <summary>The accepted result's running statistics were moved onto the weights its step is applied to (bounded staleness).</summary>
        public bool StatisticsRebased { get; set; }

        /// <summary>The step went ahead without this shard: no result of it counts any more.</summary>
        public bool Abandoned { get; private set; }

        internal void Abandon() => Abandoned = true;

        public void Complete(WorkCompleted result, TWorker worker, string completedBy, double receivedMilliseconds)
        {
            Result = result;
            StatisticsRebased = false;
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

        /// <summary>
        /// The result was accepted but cannot be read any more (its worker died before every server node fetched it): it
        /// no longer counts, through nobody's fault, and the shard must be computed again.
        /// </summary>
        public void Lose()
        {
            Result = null;
            CompletedByWorker = null;
            CompletedBy = null;
        }
    }
}
