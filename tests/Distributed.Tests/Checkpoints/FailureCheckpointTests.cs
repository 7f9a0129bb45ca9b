using Akka.Actor;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Training;
using Distributed.Training.Checkpoints;
using Distributed.Model.Nets;
using Distributed.Training.Hosting;
using Distributed.Training.Workers;

namespace Distributed.Tests.Checkpoints;

/// <summary>A run that fails still hands back the state its parameter server holds, and that state becomes a checkpoint to resume from.</summary>
public sealed class FailureCheckpointTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("distributed-failure-").FullName;

    [Fact]
    public async Task A_run_that_fails_after_three_steps_returns_the_state_after_them_and_it_is_written()
    {
        var job = new TrainingJob(
            new ModelSpec(Architecture.Residual, 8, 1, NormKind.Group, 1, 28, 28, 10),
            new DataSpec("synthetic", null, 0, false, TrainLimit: 512, TestLimit: 64),
            new TrainingPlan(Epochs: 1, GlobalBatch: 32, Seed: 5, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0),
                MinimumWorkers: 1, ShardTimeout: TimeSpan.FromSeconds(60)),
            SgdSettings.Default, Workers: 1, ThreadsPerWorker: 1, OutputDirectory: _directory);
        var model = RunModel.Build(job.Model, job.Plan.Seed);
        using var host = TrainingHost.BuildLocal();
        await host.StartAsync();
        var system = TrainingHost.ActorSystemOf(host);

        var outcome = await TrainingRun.RunAsync(system, job, new NoObserver(), new OneFailingWorker(model.InitialState.Length), CancellationToken.None,
            new TrainingRun.RunOptions(Model: model)).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.False(outcome.Succeeded);
        Assert.Contains("without a result (--max-shard-attempts", outcome.Failed!.Reason);
        var last = outcome.Parameters ?? throw new Xunit.Sdk.XunitException("a failed run returned no state");
        Assert.Equal(3, last.StepsApplied);
        var writer = new CheckpointWriter(job, _directory, model.ParameterCount, CheckpointSchedule.Default);
        Assert.True(await writer.WriteFinalAsync(last));
        Assert.Equal(3, Checkpoint.Read(_directory).Header.Step);
        await host.StopAsync();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class NoObserver : ITrainingObserver;

    private sealed class OneFailingWorker(int stateLength) : IWorkerSource
    {
        public string Description => "one worker that fails after three steps";

        public IReadOnlyList<IActorRef> Attach(ActorSystem system, IActorRef coordinator, string runId)
        {
            var worker = system.ActorOf(Props.Create(() => new FailsAfterThreeSteps(stateLength)), $"fails-after-three-{runId}");
            coordinator.Tell(new RegisterWorker("fails-after-three"), worker);
            return [worker];
        }
    }

    /// <summary>Returns a zero gradient for three training shards, then fails every shard.</summary>
    private sealed class FailsAfterThreeSteps : ReceiveActor
    {
        private int _trained;

        public FailsAfterThreeSteps(int stateLength)
        {
            Receive<ConfigureWorker>(_ => Sender.Tell(new WorkerConfigured("fails-after-three", stateLength, 512, 64)));
            Receive<WorkRequest>(request =>
            {
                if (request.Kind == WorkKind.Train && _trained++ < 3)
                    Sender.Tell(new WorkCompleted(request.Round, request.Kind, request.Shard, request.WeightsVersion, request.SampleIndices.Length,
                        2.3 * request.SampleIndices.Length, 0, 1, new float[stateLength], RunId: request.RunId));
                else
                    Sender.Tell(new WorkFailed(request.Round, request.Shard, "rehearsed failure"));
            });
        }
    }
}
