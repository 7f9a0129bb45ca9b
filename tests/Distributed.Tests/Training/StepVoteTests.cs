using Distributed.ParameterServer;
using Distributed.Protocol;

namespace Distributed.Tests.Training;

public sealed class StepVoteTests
{
    private static readonly StateRange[] Ranges = [new(0, 16), new(16, 32), new(32, 40)];

    private static StepPrepared Ready(int server, double sumOfSquares = 1) =>
        new(7, server, PrepareOutcome.Ready, sumOfSquares, new float[Ranges[server].Length], null, []);

    [Fact]
    public void Commits_only_when_every_server_is_ready_and_ignores_other_steps_unknown_servers_and_repeats()
    {
        var vote = new StepVote(7, Ranges);
        Assert.True(vote.Record(Ready(0)));
        Assert.False(vote.Record(Ready(0)));
        Assert.False(vote.Record(Ready(1) with { Step = 6 }));
        Assert.False(vote.Record(Ready(1) with { Server = 3 }));
        Assert.True(vote.Record(Ready(1)));
        Assert.False(vote.IsComplete);
        Assert.Throws<InvalidOperationException>(() => vote.Decide());
        Assert.True(vote.Record(Ready(2)));

        Assert.True(vote.IsComplete);
        Assert.Equal(StepVote.Verdict.Commit, vote.Decide());
        Assert.Equal(Math.Sqrt(3), vote.GradientNorm(), 12);
    }

    [Fact]
    public void A_non_finite_range_outweighs_a_diverged_one_and_its_shards_are_described_as_one_server_would()
    {
        var vote = new StepVote(7, Ranges);
        vote.Record(new StepPrepared(7, 0, PrepareOutcome.NonFinite, double.NaN, null, null,
            [new NonFiniteFinding(2, 1, 3, float.NaN), new NonFiniteFinding(0, 4, 9, float.NaN)]));
        vote.Record(new StepPrepared(7, 1, PrepareOutcome.Diverged, 5, null, null, []));
        vote.Record(new StepPrepared(7, 2, PrepareOutcome.NonFinite, double.NaN, null, null, [new NonFiniteFinding(2, 2, 33, float.NaN)]));

        Assert.Equal(StepVote.Verdict.RefuseContributions, vote.Decide());
        var (shards, reason) = vote.NonFiniteShards(parameterCount: 32);
        Assert.Equal([0, 2], shards);
        Assert.Equal("shard 0: 4 non-finite values, the first (NaN) at gradient index 9, " +
            "shard 2: 3 non-finite values, the first (NaN) at gradient index 3", reason);
    }

    [Fact]
    public void Finite_shards_whose_weighted_sum_overflows_are_refused_without_naming_a_shard()
    {
        var vote = new StepVote(7, [new StateRange(0, 40)]);
        vote.Record(new StepPrepared(7, 0, PrepareOutcome.NonFinite, double.NaN, null, null, []));
        Assert.Equal(([], "the weighted sum overflowed"), vote.NonFiniteShards(32));
    }

    [Fact]
    public void The_committed_state_and_gradient_put_every_range_in_its_place()
    {
        var vote = new StepVote(7, Ranges);
        for (var server = 0; server < 3; server++)
        {
            var range = Ranges[server];
            vote.Record(Ready(server) with
            {
                State = Enumerable.Range(range.Start, range.Length).Select(i => (float)i).ToArray(),
                Gradient = Enumerable.Range(range.Start, range.ParametersIn(36)).Select(i => -(float)i).ToArray(),
            });
        }
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (float)i), vote.AssembleState(40));
        Assert.Equal(Enumerable.Range(0, 36).Select(i => -(float)i), vote.AssembleGradient(36)!);
    }

    [Fact]
    public void A_ready_answer_whose_range_has_the_wrong_length_is_a_fault()
    {
        var vote = new StepVote(7, Ranges);
        var error = Assert.Throws<InvalidOperationException>(() => vote.Record(Ready(2) with { State = new float[3] }));
        Assert.Equal("parameter server 2 [32, 40) answered step 7 ready with 3 values", error.Message);
    }

    [Fact]
    public void Servers_that_answer_with_where_they_serve_their_range_make_state_ranges_instead_of_a_state()
    {
        var vote = new StepVote(7, Ranges);
        // Answers arrive in any order; the ranges come out in state order.
        foreach (var server in new[] { 2, 0, 1 })
            vote.Record(Ready(server) with { State = null, StateHandle = new TensorHandle($"10.0.0.{server}", 4054, server + 1, Ranges[server].Length) });

        Assert.Equal(StepVote.Verdict.Commit, vote.Decide());
        Assert.Null(vote.AssembleState(40));
        var ranges = vote.StateRanges()!;
        Assert.Equal([0, 16, 32], ranges.Select(r => r.Start));
        Assert.Equal([16, 16, 8], ranges.Select(r => r.Handle.Length));
        Assert.Equal(["10.0.0.0", "10.0.0.1", "10.0.0.2"], ranges.Select(r => r.Handle.Host));
    }

    [Fact]
    public void A_served_range_of_the_wrong_length_is_refused_and_servers_in_one_process_make_no_state_ranges()
    {
        var vote = new StepVote(7, Ranges);
        Assert.Throws<InvalidOperationException>(() => vote.Record(Ready(0) with { State = null, StateHandle = new TensorHandle("h", 1, 1, 15) }));
        foreach (var server in new[] { 0, 1, 2 }) vote.Record(Ready(server));
        Assert.Null(vote.StateRanges());
        Assert.Equal(40, vote.AssembleState(40)!.Length);
    }

    [Fact]
    public void A_range_that_could_not_read_some_shards_has_them_computed_again_before_any_other_verdict()
    {
        var vote = new StepVote(7, Ranges);
        vote.Record(new StepPrepared(7, 0, PrepareOutcome.Unreadable, double.NaN, null, null, [], LostShards: [3, 1], LostReason: "range 0: worker gone"));
        vote.Record(new StepPrepared(7, 1, PrepareOutcome.NonFinite, double.NaN, null, null, [new NonFiniteFinding(2, 1, 20, float.NaN)]));
        vote.Record(new StepPrepared(7, 2, PrepareOutcome.Unreadable, double.NaN, null, null, [], LostShards: [1], LostReason: "range 2: worker gone"));

        Assert.Equal(StepVote.Verdict.RecomputeContributions, vote.Decide());
        var (shards, reason) = vote.LostShards();
        Assert.Equal([1, 3], shards);
        Assert.Equal("range 0: worker gone; range 2: worker gone", reason);
    }
}
