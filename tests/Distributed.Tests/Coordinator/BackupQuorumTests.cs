using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Tests.Coordinator;

public sealed class BackupQuorumTests
{
    [Theory]
    [InlineData(3, 0, 3)]
    [InlineData(3, 1, 2)]
    [InlineData(4, 2, 2)]
    [InlineData(2, 1, 1)]
    [InlineData(1, 1, 1)]
    [InlineData(2, 3, 2)]
    public void A_training_round_needs_all_but_b_shards_and_every_shard_when_there_are_no_more_than_b(int shards, int b, int required)
    {
        var quorum = BackupQuorum.For(WorkKind.Train, shards, b);
        Assert.Equal(required, quorum.Required);
        Assert.Equal(shards - required, quorum.Spare);
        Assert.Equal(b > 0 && shards <= b, BackupQuorum.TooFewWorkers(WorkKind.Train, shards, b));
    }

    [Fact]
    public void An_evaluation_round_always_needs_every_shard()
    {
        var quorum = BackupQuorum.For(WorkKind.Evaluate, 5, 2);
        Assert.Equal(5, quorum.Required);
        Assert.False(quorum.IsMet(4));
        Assert.False(BackupQuorum.TooFewWorkers(WorkKind.Evaluate, 1, 2));
    }

    [Fact]
    public void The_quorum_is_met_with_the_required_results()
    {
        var quorum = BackupQuorum.For(WorkKind.Train, 3, 1);
        Assert.False(quorum.IsMet(1));
        Assert.True(quorum.IsMet(2));
        Assert.True(quorum.IsMet(3));
    }

    [Fact]
    public void A_lost_shard_is_let_go_only_while_the_others_can_still_make_the_quorum()
    {
        var quorum = BackupQuorum.For(WorkKind.Train, 4, 1);
        Assert.True(quorum.CanLetGo(results: 0, runningElsewhere: 3));
        Assert.True(quorum.CanLetGo(results: 2, runningElsewhere: 1));
        Assert.False(quorum.CanLetGo(results: 1, runningElsewhere: 1));
        Assert.False(BackupQuorum.For(WorkKind.Train, 4, 0).CanLetGo(results: 3, runningElsewhere: 0));
        Assert.False(BackupQuorum.For(WorkKind.Evaluate, 4, 1).CanLetGo(results: 3, runningElsewhere: 0));
    }

    [Fact]
    public void Bad_counts_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BackupQuorum.For(WorkKind.Train, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => BackupQuorum.For(WorkKind.Train, 3, -1));
    }
}
