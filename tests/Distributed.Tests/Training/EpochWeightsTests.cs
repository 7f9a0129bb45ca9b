using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Model.Nets;
using Distributed.Training.Workers;

namespace Distributed.Tests.Training;

/// <summary>The end-of-epoch weights an observer receives are exactly the weights the next epoch starts from.</summary>
public sealed class EpochWeightsTests : Akka.TestKit.Xunit2.TestKit
{
    public EpochWeightsTests() : base(AkkaTestConfig.WithProtocolSerialization()) { }

    [Fact]
    public async Task The_observer_gets_the_weights_after_the_last_step_of_every_epoch_before_that_epochs_report()
    {
        var model = new ModelSpec(Architecture.Residual, 8, 1, NormKind.Group, 1, 28, 28, 10);
        var job = new TrainingJob(model, new DataSpec("synthetic", null, 0, false, TrainLimit: 40, TestLimit: 10),
            new TrainingPlan(Epochs: 2, GlobalBatch: 16, Seed: 3, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0),
                MinimumWorkers: 2, ShardTimeout: TimeSpan.FromMinutes(2)),
            SgdSettings.Default, Workers: 2, ThreadsPerWorker: 1, OutputDirectory: null);
        var observer = new WeightsObserver();

        var outcome = await TrainingRun.RunAsync(Sys, job, observer, InProcessWorkers.Of(job), CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Failed?.Reason);
        Assert.Equal(["weights 0", "epoch 0", "weights 1", "epoch 1"], observer.Events);
        Assert.Equal([3L, 6L], observer.Weights.Select(w => w.Step));
        Assert.Equal([3L, 6L], observer.Weights.Select(w => w.WeightsVersion));
        Assert.Equal(outcome.Finished!.State, observer.Weights[1].State);
        Assert.NotEqual(observer.Weights[0].State, observer.Weights[1].State);
        Assert.NotEqual(RunModel.Build(model, 3).InitialState, observer.Weights[0].State);
    }

    private sealed class WeightsObserver : ITrainingObserver
    {
        public List<string> Events { get; } = [];
        public List<EpochWeights> Weights { get; } = [];

        public void OnEpochWeights(EpochWeights weights)
        {
            lock (Events)
            {
                Events.Add($"weights {weights.Epoch}");
                Weights.Add(weights);
            }
        }

        public void OnEpoch(EpochCompleted epoch)
        {
            lock (Events) Events.Add($"epoch {epoch.Epoch}");
        }
    }
}
