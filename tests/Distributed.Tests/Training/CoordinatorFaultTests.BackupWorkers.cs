using Distributed.Protocol;

namespace Distributed.Tests.Training;

// Backup workers with probe workers: the step goes ahead with the first L - b shards, the late one is discarded and
// its samples are skipped in the ledger; a lost shard is computed again only when the round needs it.
public sealed partial class CoordinatorFaultTests
{
    [Fact]
    public async Task With_one_backup_worker_each_step_applies_the_first_two_of_three_shards_and_skips_the_late_ones_samples()
    {
        var (_, workers) = await StartRunAsync(workerCount: 3, shardTimeout: TimeSpan.FromSeconds(30), trainSamples: 18, batch: 9,
            adjust: plan => plan with { BackupWorkers = 1, Speculate = false });
        var step0 = await Task.WhenAll(workers.Select(w => w.ExpectMsgAsync<WorkRequest>().AsTask()));
        workers[0].Reply(Gradient(step0[0], [3f, 3f, 3f, 3f]));
        workers[2].Reply(Gradient(step0[2], [6f, 6f, 6f, 6f]));

        // The next step starts without worker-1's shard: its answer, late, must not count.
        var step1 = await Task.WhenAll(workers.Select(w => w.ExpectMsgAsync<WorkRequest>().AsTask()));
        Assert.All(step1, r => Assert.True(r.Round > step0[0].Round));
        workers[1].Reply(Gradient(step0[1], [100f, 100f, 100f, 100f]));
        workers[1].Reply(Gradient(step1[1], [2f, 2f, 2f, 2f]));
        workers[0].Reply(Gradient(step1[0], [1f, 1f, 1f, 1f]));

        var finished = await ExpectFinishedAsync();
        Assert.Equal(2, finished.Steps);
        // Step 0: (3·3 + 3·6) / 6 = 4.5 over the applied shards' samples; step 1: (3·1 + 3·2) / 6 = 1.5; lr 1, no momentum.
        Assert.Equal(new float[] { -6f, -6f, -6f, -6f }, finished.State!);
        Assert.Equal(new SampleTally(12, 0, 0, 6), finished.Samples);
        Assert.Equal(18, finished.Samples!.Applied + finished.Samples.Skipped);
        Assert.Equal(0, finished.ReassignedShards);
    }

    [Fact]
    public async Task A_lost_shard_is_not_computed_again_while_the_others_can_make_the_quorum_and_is_once_they_cannot()
    {
        var (_, workers) = await StartRunAsync(workerCount: 3, shardTimeout: TimeSpan.FromSeconds(30), trainSamples: 9, batch: 9,
            adjust: plan => plan with { BackupWorkers = 1, Speculate = false });
        var requests = await Task.WhenAll(workers.Select(w => w.ExpectMsgAsync<WorkRequest>().AsTask()));

        Sys.Stop(workers[1].Ref);
        await ExpectNoticeAsync($"shard {requests[1].Shard} is not computed again");
        // Now shards 0 and 2 must both come in: a failure of shard 2 sends it to worker-0.
        workers[2].Reply(new WorkFailed(requests[2].Round, requests[2].Shard, "out of memory"));
        var retried = await workers[0].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(requests[2].Shard, retried.Shard);
        workers[0].Reply(Gradient(requests[0], [2f, 2f, 2f, 2f]));
        workers[0].Reply(Gradient(retried, [4f, 4f, 4f, 4f]));

        var finished = await ExpectFinishedAsync();
        Assert.Equal(new float[] { -3f, -3f, -3f, -3f }, finished.State!);
        Assert.Equal(1, finished.ReassignedShards);
        Assert.Equal(new SampleTally(6, 0, 0, 3), finished.Samples);
    }
}
