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

    /// <summary>Whether a worker's answer counts for its shard; the step's weights version and the state length must match.</summary>
    public Admission Admit(WorkCompleted result, long weightsVersion, int stateLength)
    {
        if (Find(result.Round, result.Shard) is not { } shard) return Admission.RoundOver;
        if (shard.Result is not null) return Admission.AlreadyAnswered;
        var round = Current!;
        if (result.WeightsVersion != weightsVersion || result.Samples != shard.Indices.Length
            || (round.Kind == WorkKind.Train && result.Buffer?.Length != stateLength))
            return Admission.Mismatch;
        return Admission.Accepted;
    }

    public enum Admission { Accepted, RoundOver, AlreadyAnswered, Mismatch }

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
        public TWorker? Assignee { get; private set; }
        public int Attempts { get; private set; }
        public WorkCompleted? Result { get; private set; }
        public double SentMilliseconds { get; private set; }
        public double ReceivedMilliseconds { get; private set; }
        public string? CompletedBy { get; private set; }

        public void AssignTo(TWorker worker, double sentMilliseconds)
        {
            Assignee = worker;
            Attempts++;
            SentMilliseconds = sentMilliseconds;
        }

        /// <summary>Nobody can take the shard now; it waits for a worker to join.</summary>
        public void Orphan() => Assignee = null;

        public void Complete(WorkCompleted result, string completedBy, double receivedMilliseconds)
        {
            Result = result;
            CompletedBy = completedBy;
            ReceivedMilliseconds = receivedMilliseconds;
        }
    }
}
