using Akka.Actor;
using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Tests.Training;

// Bad numbers, bad answers and runs that could wait forever: each is refused or bounded, with a clear reason.
public sealed partial class CoordinatorFaultTests
{
    [Fact]
    public async Task A_non_finite_gradient_is_refused_and_its_shard_computed_again_by_another_worker()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30));
        var requestA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[0].Reply(Gradient(requestA, [float.NaN, 1f, float.PositiveInfinity, 1f]));
        workers[1].Reply(Gradient(requestB, [4f, 4f, 4f, 4f]));

        var notice = await ExpectNoticeAsync("non-finite");
        Assert.Contains($"shard {requestA.Shard}", notice.Text);
        Assert.Contains("worker-0", notice.Text);
        var retried = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(requestA.Shard, retried.Shard);
        workers[1].Reply(Gradient(retried, [2f, 2f, 2f, 2f]));

        var finished = await ExpectFinishedAsync();
        Assert.Equal(new float[] { -3f, -3f, -3f, -3f }, finished.State!);
        Assert.Equal(1, finished.RefusedContributions);
        Assert.Equal(new SampleTally(TrainSamples, 0, 0), finished.Samples);
    }

    [Fact]
    public async Task A_non_finite_loss_is_refused_before_it_reaches_the_parameter_server()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30));
        var requestA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[0].Reply(Gradient(requestA, [1f, 1f, 1f, 1f]) with { LossSum = double.NaN });
        workers[1].Reply(Gradient(requestB, [1f, 1f, 1f, 1f]));

        var retried = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(requestA.Shard, retried.Shard);
        workers[1].Reply(Gradient(retried, [1f, 1f, 1f, 1f]));
        var finished = await ExpectFinishedAsync();
        Assert.Equal(new float[] { -1f, -1f, -1f, -1f }, finished.State!);
        Assert.Equal(1, finished.RefusedContributions);
    }

    [Fact]
    public async Task A_worker_that_returns_non_finite_values_twice_is_taken_out_of_rotation()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30), trainSamples: 8, batch: 4);
        for (var step = 0; step < 2; step++)
        {
            var bad = await workers[0].ExpectMsgAsync<WorkRequest>();
            var good = await workers[1].ExpectMsgAsync<WorkRequest>();
            workers[0].Reply(Gradient(bad, [float.NaN, 0f, 0f, 0f]));
            workers[1].Reply(Gradient(good, [1f, 1f, 1f, 1f]));
            var retried = await workers[1].ExpectMsgAsync<WorkRequest>();
            workers[1].Reply(Gradient(retried, [1f, 1f, 1f, 1f]));
        }

        await ExpectNoticeAsync("worker worker-0 is taken out of rotation");
        var finished = await ExpectFinishedAsync();
        Assert.Equal(new float[] { -2f, -2f, -2f, -2f }, finished.State!);
        Assert.True(finished.Samples!.IsClean);
    }

    [Fact]
    public async Task When_every_worker_returns_non_finite_values_the_run_fails_as_diverged_and_the_weights_stay_finite()
    {
        var (_, workers, server) = await StartRunWithServerAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30));
        var requestA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[0].Reply(Gradient(requestA, [float.NaN, 0f, 0f, 0f]));
        workers[1].Reply(Gradient(requestB, [0f, float.NegativeInfinity, 0f, 0f]));
        var retryA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var retryB = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(requestB.Shard, retryA.Shard);
        Assert.Equal(requestA.Shard, retryB.Shard);
        workers[0].Reply(Gradient(retryA, [float.NaN, 0f, 0f, 0f]));
        workers[1].Reply(Gradient(retryB, [float.NaN, 0f, 0f, 0f]));

        var failed = await ExpectFailedAsync();
        Assert.Contains("diverged", failed.Reason);
        var parameters = await server.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(5));
        Assert.Equal(InitialState, parameters.State);
        Assert.Equal(0, parameters.StepsApplied);
    }

    [Fact]
    public async Task A_run_whose_workers_never_all_become_live_fails_at_the_join_timeout_naming_the_rejected_ones()
    {
        var (coordinator, workers) = await StartRunAsync(workerCount: 3, shardTimeout: TimeSpan.FromSeconds(30),
            adjust: plan => plan with { JoinTimeout = TimeSpan.FromMilliseconds(500) }, registered: 1);
        coordinator.Tell(new RegisterWorker("worker-1"), workers[1].Ref);
        await workers[1].ExpectMsgAsync<ConfigureWorker>();
        workers[1].Reply(new WorkerUnavailable("worker-1", "/data/train-images-idx3-ubyte.gz: no such file"));

        var failed = await ExpectFailedAsync();
        Assert.Contains("only 1 of the 3 workers needed became live", failed.Reason);
        Assert.Contains("worker-1: /data/train-images-idx3-ubyte.gz: no such file", failed.Reason);
    }

    [Fact]
    public async Task A_shard_that_bounces_between_stuck_workers_fails_the_run_after_the_attempt_limit()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromMilliseconds(200),
            adjust: plan => plan with { MaxShardAttempts = 3 });

        var failed = await ExpectFailedAsync();
        Assert.Contains("without a result (--max-shard-attempts 3)", failed.Reason);
        Assert.All(workers, w => Assert.True(w.HasMessages));
    }

    [Fact]
    public async Task Answers_from_another_run_or_from_a_worker_the_shard_was_not_given_to_are_discarded()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30));
        var requestA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();

        workers[1].Reply(Gradient(requestA, [100f, 100f, 100f, 100f]));
        workers[0].Reply(Gradient(requestA, [100f, 100f, 100f, 100f]) with { RunId = requestA.RunId + 1 });
        workers[0].Reply(Gradient(requestA, [2f, 2f, 2f, 2f]));
        workers[1].Reply(Gradient(requestB, [4f, 4f, 4f, 4f]));

        var finished = await ExpectFinishedAsync();
        Assert.Equal(new float[] { -3f, -3f, -3f, -3f }, finished.State!);
        Assert.Equal(2, finished.DiscardedResults);
    }

    [Fact]
    public async Task Messages_naming_a_shard_that_does_not_exist_are_ignored_and_the_run_goes_on()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30));
        var requestA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[0].Reply(new WorkFailed(requestA.Round, 99, "no such shard"));
        workers[0].Reply(new WorkFailed(requestA.Round, -1, "no such shard"));
        workers[0].Reply(new WeightsMissing(requestA.Round, int.MaxValue, 0));
        workers[0].Reply(Gradient(requestA, [1f, 1f, 1f, 1f]) with { Shard = 7 });

        workers[0].Reply(Gradient(requestA, [2f, 2f, 2f, 2f]));
        workers[1].Reply(Gradient(requestB, [2f, 2f, 2f, 2f]));
        var finished = await ExpectFinishedAsync();
        Assert.Equal(new float[] { -2f, -2f, -2f, -2f }, finished.State!);
    }
}
