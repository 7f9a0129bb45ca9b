using Akka.Actor;
using Akka.TestKit;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;
using Distributed.Tests.Support;

namespace Distributed.Tests.Training;

/// <summary>
/// Whole training runs in a TestKit simulation where the workers are probes the test drives: it decides which
/// gradients come back, when, how often, and which worker dies. The model is four numbers, so the exact
/// weights after each step are known.
/// </summary>
public sealed partial class CoordinatorFaultTests : Akka.TestKit.Xunit2.TestKit
{
    private const int TrainSamples = 8;
    private static readonly float[] InitialState = [0f, 0f, 0f, 0f];
    private readonly TestProbe _observer;

    public CoordinatorFaultTests() : base(AkkaTestConfig.WithProtocolSerialization())
    {
        _observer = CreateTestProbe("observer");
    }

    [Fact]
    public async Task Coordinator_reassigns_the_shard_of_a_worker_that_stops_mid_step()
    {
        var (coordinator, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30));
        var requestA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();

        Sys.Stop(workers[0].Ref);
        var reassigned = await workers[1].ExpectMsgAsync<WorkRequest>();

        Assert.Equal(requestA.Shard, reassigned.Shard);
        Assert.Equal(requestA.SampleIndices, reassigned.SampleIndices);
        workers[1].Reply(Gradient(requestB, [1f, 1f, 1f, 1f]));
        workers[1].Reply(Gradient(reassigned, [3f, 3f, 3f, 3f]));
        var finished = await ExpectFinishedAsync();
        Assert.Equal(1, finished.Steps);
        Assert.Equal(new float[] { -2f, -2f, -2f, -2f }, finished.State!);
        Assert.Equal(1, finished.ReassignedShards);
        Assert.Equal(new SampleTally(TrainSamples, 0, 0), finished.Samples);
    }

    [Fact]
    public async Task Coordinator_gives_the_shard_of_a_worker_that_never_answers_to_another_worker_after_the_deadline()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromMilliseconds(300));
        var silent = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[1].Reply(Gradient(requestB, [2f, 2f, 2f, 2f]));

        var reassigned = await workers[1].ExpectMsgAsync<WorkRequest>(TimeSpan.FromSeconds(5));
        Assert.Equal(silent.Shard, reassigned.Shard);
        workers[1].Reply(Gradient(reassigned, [4f, 0f, 4f, 0f]));

        var finished = await ExpectFinishedAsync();
        Assert.Equal(new float[] { -3f, -1f, -3f, -1f }, finished.State!);
        Assert.Equal(new SampleTally(TrainSamples, 0, 0), finished.Samples);
    }

    [Fact]
    public async Task Coordinator_applies_a_step_once_when_a_worker_answers_twice()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30));
        var requestA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();

        workers[0].Reply(Gradient(requestA, [2f, 2f, 2f, 2f]));
        workers[0].Reply(Gradient(requestA, [2f, 2f, 2f, 2f]));
        workers[1].Reply(Gradient(requestB, [4f, 4f, 4f, 4f]));

        var finished = await ExpectFinishedAsync();
        Assert.Equal(1, finished.Steps);
        Assert.Equal(new float[] { -3f, -3f, -3f, -3f }, finished.State!);
        Assert.Equal(1, finished.DiscardedResults);
        Assert.Equal(new SampleTally(TrainSamples, 0, 0), finished.Samples);
    }

    [Fact]
    public async Task Coordinator_moves_a_failed_shard_to_another_worker()
    {
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30));
        var requestA = await workers[0].ExpectMsgAsync<WorkRequest>();
        var requestB = await workers[1].ExpectMsgAsync<WorkRequest>();
        workers[0].Reply(new WorkFailed(requestA.Round, requestA.Shard, "out of memory"));
        workers[1].Reply(Gradient(requestB, [1f, 1f, 1f, 1f]));

        var retried = await workers[1].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(requestA.Shard, retried.Shard);
        workers[1].Reply(Gradient(retried, [1f, 1f, 1f, 1f]));
        Assert.Equal(new float[] { -1f, -1f, -1f, -1f }, (await ExpectFinishedAsync()).State!);
    }

    [Fact]
    public async Task Coordinator_sends_weights_only_to_workers_that_do_not_hold_the_current_version()
    {
        var (_, workers) = await StartRunAsync(workerCount: 1, shardTimeout: TimeSpan.FromSeconds(30), trainSamples: 8, batch: 4);
        var first = await workers[0].ExpectMsgAsync<WorkRequest>();
        Assert.NotNull(first.State);
        workers[0].Reply(Gradient(first, [1f, 1f, 1f, 1f]));
        var second = await workers[0].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(1, second.WeightsVersion);
        Assert.Equal(new float[] { -1f, -1f, -1f, -1f }, second.State!);

        workers[0].Reply(new WeightsMissing(second.Round, second.Shard, -1));
        var resent = await workers[0].ExpectMsgAsync<WorkRequest>();
        Assert.Equal(second.Round, resent.Round);
        Assert.NotNull(resent.State);
    }

    [Fact]
    public async Task A_workers_compute_warning_reaches_the_operator_once_however_many_workers_report_it()
    {
        const string warning = "--precision bf16 on a CPU without AVX512-BF16 or AMX-BF16";
        var (_, workers) = await StartRunAsync(workerCount: 2, shardTimeout: TimeSpan.FromSeconds(30), computeWarning: warning);
        foreach (var worker in workers) worker.Reply(Gradient(await worker.ExpectMsgAsync<WorkRequest>(), [0f, 0f, 0f, 0f]));

        var notices = new List<string>();
        while (await _observer.ReceiveOneAsync(TimeSpan.FromSeconds(10)) is var message and not TrainingFinished)
        {
            Assert.NotNull(message);
            if (message is TrainingNotice notice) notices.Add(notice.Text);
        }
        var warned = Assert.Single(notices, n => n.Contains(warning, StringComparison.Ordinal));
        Assert.StartsWith("warning from worker worker-0: ", warned);
    }

    [Fact]
    public async Task Every_sample_of_an_epoch_is_assigned_exactly_once_across_shards_and_steps()
    {
        var (_, workers) = await StartRunAsync(workerCount: 3, shardTimeout: TimeSpan.FromSeconds(30), trainSamples: 20, batch: 7);
        var seen = new List<int>();
        for (var step = 0; step < 3; step++)
        {
            foreach (var worker in workers)
            {
                var request = await worker.ExpectMsgAsync<WorkRequest>();
                seen.AddRange(request.SampleIndices);
                worker.Reply(Gradient(request, [0f, 0f, 0f, 0f]));
            }
        }
        Assert.Equal(Enumerable.Range(0, 20), seen.Order());
        await ExpectFinishedAsync();
    }

    private async Task<(IActorRef Coordinator, TestProbe[] Workers)> StartRunAsync(int workerCount, TimeSpan shardTimeout,
        int trainSamples = TrainSamples, int batch = TrainSamples, Func<TrainingPlan, TrainingPlan>? adjust = null, int? registered = null,
        string? computeWarning = null)
    {
        var (coordinator, workers, _) = await StartRunWithServerAsync(workerCount, shardTimeout, trainSamples, batch, adjust, registered,
            computeWarning: computeWarning);
        return (coordinator, workers);
    }

    /// <param name="registered">How many of the <paramref name="workerCount"/> needed workers register and configure (default: all).</param>
    /// <param name="initialState">[4 weights | running statistics]; default: 4 weights and no statistics.</param>
    /// <param name="rangeServers">How the parameter server group makes its range server (default: the real one).</param>
    private async Task<(IActorRef Coordinator, TestProbe[] Workers, IActorRef Server)> StartRunWithServerAsync(int workerCount, TimeSpan shardTimeout,
        int trainSamples = TrainSamples, int batch = TrainSamples, Func<TrainingPlan, TrainingPlan>? adjust = null, int? registered = null,
        float[]? initialState = null, Func<RangeServerSetup, Props>? rangeServers = null, string? computeWarning = null)
    {
        var state = initialState ?? InitialState;
        var server = Sys.ActorOf(ParameterServerGroup.Props(new ParameterServerSetup(
            (float[])state.Clone(), ParameterCount: 4, DecayMask: new float[4], new SgdSettings(0, false, 0)), rangeServers));
        var plan = new TrainingPlan(Epochs: 1, GlobalBatch: batch, Seed: 3, new LearningRateSchedule(1.0, ScheduleKind.Constant, 0),
            MinimumWorkers: workerCount, ShardTimeout: shardTimeout);
        plan = adjust?.Invoke(plan) ?? plan;
        var configuration = new ConfigureWorker(ModelSpec.ResNet20FashionMnist, new DataSpec("synthetic", null, 0, false), 3);
        var published = await server.Ask<CurrentParameters>(GetParameters.Instance, TimeSpan.FromSeconds(5));
        var coordinator = Sys.ActorOf(CoordinatorActor.Props(plan, configuration, server, PublishedWeights.Of(published), _observer.Ref));
        var workers = Enumerable.Range(0, workerCount).Select(i => CreateTestProbe($"worker-{i}")).ToArray();
        for (var i = 0; i < (registered ?? workerCount); i++)
        {
            coordinator.Tell(new RegisterWorker($"worker-{i}"), workers[i].Ref);
            await workers[i].ExpectMsgAsync<ConfigureWorker>();
            workers[i].Reply(new WorkerConfigured($"worker-{i}", state.Length, trainSamples, 0, ParameterCount: 4, ComputeWarning: computeWarning));
        }
        return (coordinator, workers, server);
    }

    private async Task<TrainingFailed> ExpectFailedAsync() =>
        await _observer.FishForMessageAsync<TrainingFailed>(m => m is TrainingFailed, TimeSpan.FromSeconds(10));

    private async Task<TrainingNotice> ExpectNoticeAsync(string containing) =>
        await _observer.FishForMessageAsync<TrainingNotice>(m => m is TrainingNotice n && n.Text.Contains(containing, StringComparison.Ordinal), TimeSpan.FromSeconds(10));

    private async Task<TrainingFinished> ExpectFinishedAsync() =>
        await _observer.FishForMessageAsync<TrainingFinished>(m => m is TrainingFinished, TimeSpan.FromSeconds(10));

    private static WorkCompleted Gradient(WorkRequest request, float[] gradient) =>
        new(request.Round, request.Kind, request.Shard, request.WeightsVersion, request.SampleIndices.Length,
            LossSum: request.SampleIndices.Length, Correct: 0, ComputeMilliseconds: 1, gradient, RunId: request.RunId);
}
