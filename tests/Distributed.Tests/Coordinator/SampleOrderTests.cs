using Distributed.Coordinator;

namespace Distributed.Tests.Coordinator;

public sealed class SampleOrderTests
{
    [Fact]
    public void Every_epoch_visits_every_sample_once_in_an_order_fixed_by_seed_and_epoch()
    {
        var order = new SampleOrder(count: 10, seed: 3, globalBatch: 4);
        Assert.Equal(3, order.StepsPerEpoch);
        var epoch0 = Enumerable.Range(0, 3).SelectMany(step => order.BatchOf(step).ToArray()).ToArray();
        var epoch1 = Enumerable.Range(3, 3).SelectMany(step => order.BatchOf(step).ToArray()).ToArray();

        Assert.Equal(Enumerable.Range(0, 10), epoch0.Order());
        Assert.Equal(Enumerable.Range(0, 10), epoch1.Order());
        Assert.NotEqual(epoch0, epoch1);
        Assert.Equal(epoch0, SampleOrder.Permutation(10, 3, 0));
        Assert.NotEqual(epoch0, SampleOrder.Permutation(10, 4, 0));
        Assert.Equal(2, order.BatchOf(2).Length);
    }

    [Fact]
    public void A_step_has_the_same_batch_whichever_step_was_asked_before()
    {
        var walked = new SampleOrder(100, 1, 32);
        for (var step = 0; step < 9; step++) walked.BatchOf(step);
        var resumed = new SampleOrder(100, 1, 32);
        Assert.Equal(resumed.BatchOf(9).ToArray(), walked.BatchOf(9).ToArray());
        Assert.Equal(2, walked.EpochOf(9));
    }

    [Theory]
    [InlineData(10, 3, new[] { 4, 3, 3 })]
    [InlineData(2, 3, new[] { 1, 1, 0 })]
    [InlineData(9, 1, new[] { 9 })]
    public void Shards_differ_in_size_by_at_most_one_and_cover_the_batch_in_order(int count, int parts, int[] lengths)
    {
        var ranges = ShardSplit.Even(count, parts);
        Assert.Equal(lengths, ranges.Select(r => r.Length));
        Assert.Equal(Enumerable.Range(0, count), ranges.SelectMany(r => Enumerable.Range(r.Start, r.Length)));
    }

    [Fact]
    public void Training_has_one_shard_per_worker_and_evaluation_shards_of_at_most_one_batch()
    {
        Assert.Equal(3, ShardSplit.Parts(training: true, samples: 128, workers: 3, globalBatch: 128));
        Assert.Equal(2, ShardSplit.Parts(training: true, samples: 2, workers: 3, globalBatch: 128));
        Assert.Equal(1, ShardSplit.Parts(training: true, samples: 128, workers: 0, globalBatch: 128));
        Assert.Equal(79, ShardSplit.Parts(training: false, samples: 10_000, workers: 2, globalBatch: 128));
        Assert.Equal(4, ShardSplit.Parts(training: false, samples: 100, workers: 4, globalBatch: 128));
    }
}
