using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Xunit.Abstractions;
using Distributed.Model.Nets;
using Distributed.Training.Workers;

namespace Distributed.Tests.Training;

/// <summary>Real workers with real TorchSharp replicas in one actor system, every message serialized on the way.</summary>
public sealed class DataParallelTrainingTests : Akka.TestKit.Xunit2.TestKit
{
    public DataParallelTrainingTests(ITestOutputHelper output) : base(AkkaTestConfig.WithProtocolSerialization(), output: output) { }

    /// <summary>
    /// Group norm is per-sample, so the shard gradients weighted by shard size are exactly the global-batch
    /// gradient; augmentation depends only on (seed, epoch, sample), not on which worker draws it.
    /// (With batch norm each shard normalizes with its own statistics, as in PyTorch DDP without SyncBatchNorm.)
    /// A batch of 50 gives unequal shards (17/17/16, 13/13/12/12), so a weighting error would show; six steps
    /// cross an epoch boundary. Measured: a full-batch gradient and its two half-batch shards agree to 9e-7
    /// (float32 summation order). Without warmup the early dynamics amplify that noise several-fold per step
    /// (at lr 0.2: 2e-8 after one step, 3e-5 after six), so the rate stays small enough that the test checks
    /// the sharding, not the optimizer's sensitivity. Label smoothing is part of each sample's loss, so it must keep this.
    /// </summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    public async Task Any_number_of_workers_produces_the_weights_of_one_worker_for_the_same_seed_and_global_batch(double labelSmoothing)
    {
        var model = new ModelSpec(Architecture.Residual, 8, 1, NormKind.Group, 1, 28, 28, 10);
        var data = new DataSpec("synthetic", null, CropPadding: 2, HorizontalFlip: true, TrainLimit: 250, TestLimit: 10);

        var single = await TrainAsync(model, data, workers: 1, steps: 6, batch: 50, labelSmoothing);
        foreach (var workers in new[] { 2, 3, 4 })
        {
            var parallel = await TrainAsync(model, data, workers, steps: 6, batch: 50, labelSmoothing);
            var relative = RelativeDifference(single, parallel);
            Assert.True(relative < 1e-5, $"{workers} workers differ from one worker by {relative:E2} (relative L2)");
            Output?.WriteLine($"{workers} workers vs 1: relative L2 difference {relative:E2}");
        }
        Assert.True(RelativeDifference(single, RunModel.Build(model, 5).InitialState) > 1e-3, "training did not move the weights");
    }

    [Fact]
    public async Task A_tiny_resnet_learns_real_fashion_mnist_well_above_chance()
    {
        var job = new TrainingJob(
            new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
            new DataSpec("fashion-mnist", null, 0, false, TrainLimit: 3000, TestLimit: 1000),
            new TrainingPlan(Epochs: 3, GlobalBatch: 64, Seed: 1, new LearningRateSchedule(0.05, ScheduleKind.Linear, 0.5),
                MinimumWorkers: 2, ShardTimeout: TimeSpan.FromMinutes(2)),
            SgdSettings.Default, Workers: 2, ThreadsPerWorker: 1, OutputDirectory: null);
        var observer = new RecordingObserver();

        var outcome = await TrainingRun.RunAsync(Sys, job, observer, InProcessWorkers.Of(job), CancellationToken.None);

        Assert.True(outcome.Succeeded, outcome.Failed?.Reason);
        Assert.Equal(3, observer.Epochs.Count);
        Assert.True(observer.Epochs[^1].TestAccuracy > 0.70, $"test accuracy {observer.Epochs[^1].TestAccuracy:P1} is not clearly above chance (10%)");
        Assert.True(observer.Epochs[^1].TrainLoss < observer.Epochs[0].TrainLoss, "training loss did not fall");
        Assert.Equal(3 * 47, outcome.Finished!.Steps);
    }

    private async Task<float[]> TrainAsync(ModelSpec model, DataSpec data, int workers, int steps, int batch, double labelSmoothing)
    {
        var job = new TrainingJob(model, data,
            new TrainingPlan(Epochs: 2, GlobalBatch: batch, Seed: 5, new LearningRateSchedule(0.01, ScheduleKind.Constant, 0),
                MinimumWorkers: workers, ShardTimeout: TimeSpan.FromMinutes(2), MaxSteps: steps, EvaluateEachEpoch: false),
            new SgdSettings(0.9, true, 5e-4), workers, ThreadsPerWorker: 1, OutputDirectory: null) { LabelSmoothing = labelSmoothing };
        var outcome = await TrainingRun.RunAsync(Sys, job, new RecordingObserver(), InProcessWorkers.Of(job), CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failed?.Reason);
        Assert.Equal(steps, outcome.Finished!.Steps);
        return outcome.Finished.State;
    }

    private static double RelativeDifference(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double difference = 0, norm = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            difference += Math.Pow(expected[i] - actual[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
        return Math.Sqrt(difference / norm);
    }
}
