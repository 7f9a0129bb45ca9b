using Akka.Actor;
using Distributed.Coordinator;
using Distributed.Model.Nets;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Training;
using Distributed.Training.Checkpoints;
using Distributed.Training.Workers;

namespace Distributed.Tests.Training;

/// <summary>
/// Whole runs with real in-process workers and K range servers (--ps-shards): the same weights as one server, a
/// checkpoint that resumes under another K, and a server failure that ends the run with its last good state.
/// </summary>
public sealed class ShardedTrainingTests : Akka.TestKit.Xunit2.TestKit, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("distributed-sharded-").FullName;

    public ShardedTrainingTests() : base(AkkaTestConfig.WithProtocolSerialization(serializeEveryMessage: false)) { }

    /// <summary>Two workers, one thread each, batch norm (so running statistics travel too), a constant rate so the step count does not shape it.</summary>
    private TrainingJob Job(int servers, long maxSteps) => new TrainingJob(
        new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
        new DataSpec("synthetic", null, 2, true, TrainLimit: 256, TestLimit: 32),
        new TrainingPlan(Epochs: 2, GlobalBatch: 50, Seed: 5, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0),
            MinimumWorkers: 2, ShardTimeout: TimeSpan.FromMinutes(2), MaxSteps: maxSteps, EvaluateEachEpoch: false),
        SgdSettings.Default, Workers: 2, ThreadsPerWorker: 1, OutputDirectory: _directory) { ParameterServers = servers };

    [Fact]
    public async Task Two_three_and_four_parameter_servers_train_to_the_weights_of_one_bit_for_bit()
    {
        var reference = await RunAsync(Job(servers: 1, maxSteps: 5));
        foreach (var servers in new[] { 2, 3, 4 })
        {
            var sharded = await RunAsync(Job(servers, maxSteps: 5));
            BitExact.Equal(reference.State, sharded.State, $"{servers} servers: state after 5 steps");
            BitExact.Equal(reference.Momentum, sharded.Momentum, $"{servers} servers: momentum after 5 steps");
        }
    }

    [Fact]
    public async Task A_checkpoint_of_two_servers_resumes_under_three_and_ends_where_one_uninterrupted_server_ends()
    {
        var uninterrupted = await RunAsync(Job(servers: 1, maxSteps: 8));
        var first = Job(servers: 2, maxSteps: 4);
        var half = await RunAsync(first);
        var model = RunModel.Build(first.Model, first.Plan.Seed);
        Assert.True(await new CheckpointWriter(first, _directory, model.ParameterCount, CheckpointSchedule.Default).WriteFinalAsync(half));

        var checkpoint = Checkpoint.Read(_directory);
        var second = Job(servers: 3, maxSteps: 8);
        Assert.Empty(checkpoint.Header.DifferencesFrom(second with { Plan = first.Plan }));
        var resumed = await RunAsync(second, new TrainingRun.RunOptions(
            new TrainingRun.ResumePoint(checkpoint.State, checkpoint.Momentum, checkpoint.Header.Step, checkpoint.Header.WeightsVersion)));

        Assert.Equal(8, resumed.StepsApplied);
        BitExact.Equal(uninterrupted.State, resumed.State, "state after 4 steps on 2 servers and 4 on 3");
        BitExact.Equal(uninterrupted.Momentum, resumed.Momentum, "momentum after 4 steps on 2 servers and 4 on 3");
    }

    [Fact]
    public async Task A_parameter_server_that_throws_fails_the_run_with_the_state_after_the_last_applied_step()
    {
        var afterThree = await RunAsync(Job(servers: 1, maxSteps: 3));
        var job = Job(servers: 3, maxSteps: 8);

        var outcome = await TrainingRun.RunAsync(Sys, job, new Silent(), InProcessWorkers.Of(job), CancellationToken.None,
            new TrainingRun.RunOptions(RangeServers: setup => setup.Index == 2 ? ThrowsAtStep.Props(setup, step: 3) : RangeServerActor.Props(setup)))
            .WaitAsync(TimeSpan.FromMinutes(3));

        Assert.False(outcome.Succeeded);
        Assert.Contains("parameter server 2 of 3", outcome.Failed!.Reason);
        Assert.Contains("rehearsed failure at step 3", outcome.Failed.Reason);
        var last = outcome.Parameters ?? throw new Xunit.Sdk.XunitException("the failed run returned no state");
        Assert.Equal(3, last.StepsApplied);
        BitExact.Equal(afterThree.State, last.State, "state handed back by the failed run");
        BitExact.Equal(afterThree.Momentum, last.Momentum, "momentum handed back by the failed run");
        var model = RunModel.Build(job.Model, job.Plan.Seed);
        Assert.True(await new CheckpointWriter(job, _directory, model.ParameterCount, CheckpointSchedule.Default).WriteFinalAsync(last));
        Assert.Equal(3, Checkpoint.Read(_directory).Header.Step);
    }

    private async Task<CurrentParameters> RunAsync(TrainingJob job, TrainingRun.RunOptions? options = null)
    {
        var outcome = await TrainingRun.RunAsync(Sys, job, new Silent(), InProcessWorkers.Of(job), CancellationToken.None, options)
            .WaitAsync(TimeSpan.FromMinutes(3));
        Assert.True(outcome.Succeeded, outcome.Failed?.Reason);
        return outcome.Parameters!;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class Silent : ITrainingObserver;

    /// <summary>A range server that throws on one step's prepare; every other message goes to a real one inside it.</summary>
    private sealed class ThrowsAtStep : ReceiveActor
    {
        public ThrowsAtStep(RangeServerSetup setup, long step)
        {
            var inner = Context.ActorOf(RangeServerActor.Props(setup), "inner");
            Receive<PrepareStep>(message => message.Step == step, message => throw new InvalidOperationException($"rehearsed failure at step {message.Step}"));
            ReceiveAny(message => inner.Forward(message));
        }

        public static Props Props(RangeServerSetup setup, long step) => Akka.Actor.Props.Create(() => new ThrowsAtStep(setup, step));
    }
}
