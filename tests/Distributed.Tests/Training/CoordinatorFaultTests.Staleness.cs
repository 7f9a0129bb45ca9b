using Akka.Actor;
using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Tests.Training;

// Bounded staleness (--staleness s) with probe workers: which shard a free worker takes, the bound on open steps,
// steps applied in order on gradients of older weights, and a dead worker's shard computed exactly once elsewhere.
public sealed partial class CoordinatorFaultTests
{
    /// <summary>
    /// s = 1, two steps of two shards, learning rate 1, no momentum. worker-0 holds step 0's first shard and dies;
    /// worker-1 meanwhile computes step 0's second shard and both of step 1's on version 0 (τ = 1), then the orphaned
    /// shard. Step 0 applies the mean gradient 2 (w = −2), then step 1 its gradient 4 taken at w0 (w = −6), where
    /// synchronous SGD would have taken it at w1.
    /// </summary>
    [Fact]
    public async Task Under_bounded_staleness_free_workers_compute_the_next_step_on_older_weights_and_a_dead_workers_shard_is_computed_once()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30), trainSamples: 8, batch: 4,
            adjust: plan => plan with { Staleness = 1 });
        var held = await workers[0].ExpectMsgAsync<WorkRequest>();
        var step0B = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(held.Round, step0B.Round);
        Assert.Equal(held.Round, held.OldestOpenRound);

        workers[1].Reply(Gradient(step0B, [2f, 2f, 2f, 2f]));
        var step1A = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(held.Round + 1, step1A.Round);
        Assert.Equal(0, step1A.WeightsVersion);
        Assert.Equal(held.Round, step1A.OldestOpenRound);
        workers[1].Reply(Gradient(step1A, [4f, 4f, 4f, 4f]));
        var step1B = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal((step1A.Round, 1), (step1B.Round, step1B.Shard));

        Sys.Stop(workers[0].Ref);
        await ExpectNoticeAsync("worker worker-0 is gone");
        workers[1].Reply(Gradient(step1B, [4f, 4f, 4f, 4f]));
        var orphan = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal((held.Round, held.Shard), (orphan.Round, orphan.Shard));
        Assert.Equal(held.SampleIndices, orphan.SampleIndices);
        workers[1].Reply(Gradient(orphan, [2f, 2f, 2f, 2f]));

        var first = await _observer.FishForMessageAsync<StepCompleted>(m => m is StepCompleted, TimeSpan.FromSeconds(10));
        var second = await _observer.FishForMessageAsync<StepCompleted>(m => m is StepCompleted, TimeSpan.FromSeconds(10));
        Assert.Equal((0L, 0), (first.Step, first.MaxStaleness));
        Assert.Equal((1L, 1), (second.Step, second.MaxStaleness));
        var finished = await ExpectFinishedAsync();
        Assert.Equal(2, finished.Steps);
        Assert.Equal(new float[] { -6f, -6f, -6f, -6f }, finished.State!);
        Assert.Equal(1, finished.ReassignedShards);
        Assert.Equal(new SampleTally(8, 0, 0), finished.Samples);
    }

    /// <summary>
    /// s = 1 with two running statistics after the 4 weights (10 and 20 at version 0). Step 0's shards (version 0)
    /// return statistics 1 and 3: version 1 holds their mean, 2. Step 1's shards were computed on version 0 and return 3
    /// and 5, i.e. 0.9·S₀ + 0.1·b; moved onto version 1 they become 0.9·S₁ + 0.1·b, so version 2 holds
    /// 4 + 0.9·(2 − 10) and 4 + 0.9·(2 − 20), not 4: the running average goes on from version 1 instead of restarting from 0.
    /// </summary>
    [Fact]
    public async Task Under_bounded_staleness_stale_running_statistics_are_moved_onto_the_weights_their_step_is_applied_to()
    {
        var (_, workers, _) = await StartRunWithServerAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30), trainSamples: 8, batch: 4,
            adjust: plan => plan with { Staleness = 1 }, initialState: [0f, 0f, 0f, 0f, 10f, 20f]);
        var held = await workers[0].ExpectMsgAsync<WorkRequest>();
        var step0B = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[1].Reply(Gradient(step0B, [0f, 0f, 0f, 0f, 1f, 1f]));
        var step1A = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[1].Reply(Gradient(step1A, [0f, 0f, 0f, 0f, 3f, 3f]));
        var step1B = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[1].Reply(Gradient(step1B, [0f, 0f, 0f, 0f, 5f, 5f]));
        workers[0].Reply(Gradient(held, [0f, 0f, 0f, 0f, 3f, 3f]));

        var finished = await ExpectFinishedAsync();
        Assert.Equal(2, finished.Steps);
        Assert.Equal(4f + 0.9f * (2f - 10f), finished.State[4], 5);
        Assert.Equal(4f + 0.9f * (2f - 20f), finished.State[5], 5);
    }

    /// <summary>
    /// s = 1: while step 0 waits for a slow worker, the free one computes step 1 but may not open step 2 (it would
    /// be 2 versions stale); once step 0 is in, it applies, step 1 goes to the server after it, and step 2 opens at once on
    /// the newest weights, version 1 (τ = 1).
    /// </summary>
    [Fact]
    public async Task Under_bounded_staleness_no_step_opens_more_than_s_steps_ahead_of_the_oldest_unapplied_one()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30), trainSamples: 12, batch: 4,
            adjust: plan => plan with { Staleness = 1 });
        var slow = await workers[0].ExpectMsgAsync<WorkRequest>();
        var step0B = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[1].Reply(Gradient(step0B, [1f, 1f, 1f, 1f]));
        var step1A = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[1].Reply(Gradient(step1A, [1f, 1f, 1f, 1f]));
        var step1B = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[1].Reply(Gradient(step1B, [1f, 1f, 1f, 1f]));

        await workers[1].ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
        workers[0].Reply(Gradient(slow, [1f, 1f, 1f, 1f]));
        var step2 = new[] { await workers[0].ExpectMsgAsync<WorkRequest>(), await workers[1].ExpectMsgAsync<WorkRequest>() };
        Assert.All(step2, request => Assert.Equal((step1A.Round + 1, 1L), (request.Round, request.WeightsVersion)));
        Assert.Equal([0, 1], step2.Select(r => r.Shard).Order());
        foreach (var (request, worker) in step2.Zip(workers)) worker.Reply(Gradient(request, [1f, 1f, 1f, 1f]));

        var finished = await ExpectFinishedAsync();
        Assert.Equal(3, finished.Steps);
        Assert.Equal(new float[] { -3f, -3f, -3f, -3f }, finished.State!);
        Assert.Equal(new SampleTally(12, 0, 0), finished.Samples);
    }
}
