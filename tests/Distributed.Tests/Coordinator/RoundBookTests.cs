using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Tests.Coordinator;

public sealed class RoundBookTests
{
    private const int StateLength = 3;

    private const long RunId = 42;
    private const string Worker = "a";

    [Fact]
    public void The_first_matching_result_of_a_shard_is_accepted_and_a_second_one_is_not()
    {
        var book = new RoundBook<string>();
        var round = book.Open(WorkKind.Train, 0, 7, [[1, 2], [3]], 0);
        round.Shards[0].AssignTo(Worker, 0);
        var result = Result(round.Id, 0, version: 4, samples: 2);

        Assert.Equal(RoundBook<string>.Admission.Accepted, book.Admit(result, Worker, RunId, 4, StateLength));
        round.Shards[0].Complete(result, Worker, "worker-a", 1);
        Assert.Equal(RoundBook<string>.Admission.AlreadyAnswered, book.Admit(result, Worker, RunId, 4, StateLength));
        Assert.False(round.IsComplete);
    }

    [Fact]
    public void A_result_from_another_run_or_from_a_worker_the_shard_was_never_given_to_is_refused()
    {
        var book = new RoundBook<string>();
        var round = book.Open(WorkKind.Train, 0, 7, [[1, 2]], 0);
        round.Shards[0].AssignTo(Worker, 0);
        round.Shards[0].AssignTo("b", 0);
        var result = Result(round.Id, 0, version: 4, samples: 2);

        Assert.Equal(RoundBook<string>.Admission.RoundOver, book.Admit(result with { RunId = RunId + 1 }, Worker, RunId, 4, StateLength));
        Assert.Equal(RoundBook<string>.Admission.NotAssigned, book.Admit(result, "c", RunId, 4, StateLength));
        // A late answer from an earlier assignee still counts: the first result wins, whoever computed it.
        Assert.Equal(RoundBook<string>.Admission.Accepted, book.Admit(result, Worker, RunId, 4, StateLength));
    }

    [Fact]
    public void A_non_finite_loss_is_refused_and_a_refused_result_leaves_the_shard_open_for_another_worker()
    {
        var book = new RoundBook<string>();
        var round = book.Open(WorkKind.Train, 0, 7, [[1, 2]], 0);
        var shard = round.Shards[0];
        shard.AssignTo(Worker, 0);
        var result = Result(round.Id, 0, version: 4, samples: 2);
        Assert.Equal(RoundBook<string>.Admission.NotFinite, book.Admit(result with { LossSum = double.PositiveInfinity }, Worker, RunId, 4, StateLength));

        shard.Complete(result, Worker, "worker-a", 1);
        shard.RefuseNonFinite(Worker);
        Assert.Null(shard.Result);
        Assert.Equal([Worker], shard.NonFiniteFrom);
        Assert.Equal(RoundBook<string>.Admission.Accepted, book.Admit(result, Worker, RunId, 4, StateLength));
    }

    [Fact]
    public void With_a_backup_worker_the_round_is_ready_at_its_quorum_and_the_late_shard_is_abandoned_and_refused()
    {
        var book = new RoundBook<string>();
        var round = book.Open(WorkKind.Train, 0, 7, [[1, 2], [3, 4], [5]], 0, backupWorkers: 1);
        foreach (var (shard, worker) in round.Shards.Zip(new[] { "a", "b", "c" })) shard.AssignTo(worker, 0);
        Assert.False(round.IsReady);
        Assert.Throws<InvalidOperationException>(() => round.AbandonRest());

        // Shard 2 lost its worker while 0 and 1 still run: the round can do without it.
        Assert.True(round.CanLetGo(round.Shards[2]));
        round.Shards[2].Complete(Result(round.Id, 2, version: 4, samples: 1), "c", "worker-c", 1);
        round.Shards[0].Complete(Result(round.Id, 0, version: 4, samples: 2), "a", "worker-a", 2);
        // Two of three are in: the quorum is met, and shard 1, still out, is what the step goes without.
        Assert.True(round.IsReady);
        Assert.False(round.IsComplete);

        var abandoned = round.AbandonRest();
        Assert.Equal([1], abandoned.Select(s => s.Index));
        Assert.Equal([0, 2], round.Answered.Select(s => s.Index));
        Assert.Equal(3, round.Samples);
        Assert.Equal(2, round.SkippedSamples);
        Assert.Empty(round.HeldBy("b"));
        Assert.Equal(RoundBook<string>.Admission.Abandoned, book.Admit(Result(round.Id, 1, version: 4, samples: 2), "b", RunId, 4, StateLength));
    }

    [Fact]
    public void Without_backup_workers_a_lost_shard_is_never_let_go_and_the_round_needs_every_shard()
    {
        var book = new RoundBook<string>();
        var round = book.Open(WorkKind.Train, 0, 7, [[1, 2], [3]], 0);
        round.Shards[0].AssignTo("a", 0);
        round.Shards[1].AssignTo("b", 0);
        Assert.False(round.CanLetGo(round.Shards[1]));
        round.Shards[0].Complete(Result(round.Id, 0, version: 4, samples: 2), "a", "worker-a", 1);
        Assert.False(round.IsReady);
        var evaluation = book.Open(WorkKind.Evaluate, 0, 7, [[1, 2], [3]], 0, backupWorkers: 1);
        Assert.Equal(2, evaluation.Quorum.Required);
    }

    [Theory]
    [InlineData(3, 2, StateLength)] // an older weights version
    [InlineData(4, 1, StateLength)] // fewer samples than the shard has
    [InlineData(4, 2, StateLength + 1)] // a buffer of another model
    public void A_result_that_does_not_match_its_shard_is_refused(long version, int samples, int bufferLength)
    {
        var book = new RoundBook<string>();
        var round = book.Open(WorkKind.Train, 0, 7, [[1, 2], [3]], 0);
        round.Shards[0].AssignTo(Worker, 0);
        var result = Result(round.Id, 0, version, samples) with { Buffer = new float[bufferLength] };
        Assert.Equal(RoundBook<string>.Admission.Mismatch, book.Admit(result, Worker, RunId, 4, StateLength));
    }

    [Fact]
    public void Answers_to_another_round_or_to_a_shard_that_does_not_exist_find_nothing()
    {
        var book = new RoundBook<string>();
        var first = book.Open(WorkKind.Train, 0, 0, [[1]], 0);
        book.Close();
        var second = book.Open(WorkKind.Train, 0, 1, [[1]], 0);

        Assert.True(second.Id > first.Id);
        Assert.Equal(RoundBook<string>.Admission.RoundOver, book.Admit(Result(first.Id, 0, 0, 1), Worker, RunId, 0, StateLength));
        Assert.Null(book.Find(second.Id, 1));
        Assert.Null(book.Find(second.Id, -1));
        Assert.Null(book.Find(second.Id, int.MaxValue));
        Assert.NotNull(book.Find(second.Id, 0));
    }

    [Fact]
    public void A_round_knows_which_shards_a_worker_holds_and_which_wait_for_a_worker()
    {
        var book = new RoundBook<string>();
        var round = book.Open(WorkKind.Evaluate, 0, 0, [[1], [2], [3]], 0);
        round.Shards[0].AssignTo("a", 0);
        round.Shards[1].AssignTo("a", 0);
        round.Shards[2].AssignTo("b", 0);
        round.Shards[1].Orphan();

        Assert.Equal([0], round.HeldBy("a").Select(s => s.Index));
        Assert.Equal([1], round.Orphans.Select(s => s.Index));
        Assert.Equal(1, round.Shards[1].Attempts);
    }

    [Fact]
    public void Several_open_rounds_are_kept_oldest_first_found_by_id_and_closed_in_order()
    {
        var book = new RoundBook<string>();
        var first = book.Open(WorkKind.Train, 0, 4, [[1], [2]], 0);
        var second = book.Open(WorkKind.Train, 0, 5, [[3], [4]], 0);

        Assert.Same(first, book.Current);
        Assert.Same(second, book.Newest);
        Assert.Same(second.Shards[1], book.Find(second.Id, 1));
        Assert.Same(first, book.Find(first.Id, 0)!.Round);
        book.Close();
        Assert.Same(second, book.Current);
        Assert.Null(book.Find(first.Id, 0));
    }

    [Fact]
    public void A_free_worker_takes_the_oldest_open_rounds_first_unassigned_shard_but_not_one_it_returned_non_finite_values_for()
    {
        var book = new RoundBook<string>();
        var first = book.Open(WorkKind.Train, 0, 0, [[1], [2]], 0);
        var second = book.Open(WorkKind.Train, 0, 1, [[3], [4]], 0);
        first.Shards[0].AssignTo("a", 0);
        Assert.Same(first.Shards[1], book.NextUnassigned(Worker));
        first.Shards[1].AssignTo("b", 0);
        Assert.Same(second.Shards[0], book.NextUnassigned(Worker));

        // Shard 0 of the first round lost its worker: it goes before the newer round's shards, except to a worker it was refused from.
        first.Shards[0].Complete(Result(first.Id, 0, 0, 1), "a", "a", 1);
        first.Shards[0].RefuseNonFinite("a");
        first.Shards[0].Orphan();
        Assert.Same(first.Shards[0], book.NextUnassigned("b"));
        Assert.Same(second.Shards[0], book.NextUnassigned("a"));
        second.Shards[0].AssignTo("c", 0);
        second.Shards[1].AssignTo("c", 0);
        Assert.Null(book.NextUnassigned("a"));
    }

    [Fact]
    public void Under_bounded_staleness_a_result_counts_for_any_version_the_rule_accepts()
    {
        var book = new RoundBook<string>();
        book.Open(WorkKind.Train, 0, 6, [[1]], 0);
        var later = book.Open(WorkKind.Train, 0, 7, [[2]], 0);
        later.Shards[0].AssignTo(Worker, 0);
        var window = new StepWindow(1);
        bool Fits(RoundBook<string>.Round round, long version) => window.Admits(round.Step, version, newestVersion: 6, versionOffset: 0);

        Assert.Equal(RoundBook<string>.Admission.Accepted, book.Admit(Result(later.Id, 0, 6, 1), Worker, RunId, Fits, StateLength));
        Assert.Equal(RoundBook<string>.Admission.Mismatch, book.Admit(Result(later.Id, 0, 5, 1), Worker, RunId, Fits, StateLength));
    }

    private static WorkCompleted Result(long round, int shard, long version, int samples) =>
        new(round, WorkKind.Train, shard, version, samples, 1.0, 1, 5, new float[StateLength], RunId: RunId);
}
