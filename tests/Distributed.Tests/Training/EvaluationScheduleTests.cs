using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Training;
using Distributed.Training.Workers;

namespace Distributed.Tests.Training;

/// <summary>
/// `--evaluate-every N` (<see cref="TrainingPlan.EvaluateEvery"/>): the skipped epochs report no test figures, the
/// evaluated ones and the run's end report what an every-epoch run reports, and the weights are the same bit for bit.
/// </summary>
public sealed class EvaluationScheduleTests() : Akka.TestKit.Xunit2.TestKit(AkkaTestConfig.WithProtocolSerialization())
{
    private const int Epochs = 3;
    private const int Batch = 32;

    [Fact]
    public async Task Skipping_evaluations_skips_only_the_test_figures_of_those_epochs_and_the_last_epoch_is_always_evaluated()
    {
        var everyEpoch = new RecordingObserver();
        var reference = await TrainAsync(evaluateEvery: 1, everyEpoch);
        var secondOnly = new RecordingObserver();
        var skipping = await TrainAsync(evaluateEvery: 2, secondOnly);

        Assert.Equal(Epochs, everyEpoch.Epochs.Count);
        Assert.All(everyEpoch.Epochs, e => Assert.True(double.IsFinite(e.TestAccuracy), $"epoch {e.Epoch + 1} was not evaluated"));
        Assert.Equal(Epochs, secondOnly.Epochs.Count);
        Assert.Equal([false, true, true], secondOnly.Epochs.Select(e => double.IsFinite(e.TestAccuracy) && double.IsFinite(e.TestLoss)));
        foreach (var epoch in new[] { 1, 2 })
            Assert.Equal((everyEpoch.Epochs[epoch].TestLoss, everyEpoch.Epochs[epoch].TestAccuracy),
                (secondOnly.Epochs[epoch].TestLoss, secondOnly.Epochs[epoch].TestAccuracy));
        Assert.Equal(everyEpoch.Epochs.Select(e => e.TrainLoss), secondOnly.Epochs.Select(e => e.TrainLoss));
        Assert.Equal(reference.Finished!.FinalTestAccuracy, skipping.Finished!.FinalTestAccuracy);
        BitExact.Equal(reference.Finished.State, skipping.Finished.State, "final state with and without the first epoch's evaluation");

        var onlyAtTheEnd = new RecordingObserver();
        var last = await TrainAsync(evaluateEvery: 0, onlyAtTheEnd);
        Assert.Equal([false, false, true], onlyAtTheEnd.Epochs.Select(e => double.IsFinite(e.TestAccuracy)));
        Assert.Equal(reference.Finished.FinalTestAccuracy, last.Finished!.FinalTestAccuracy);
    }

    private async Task<TrainingOutcome> TrainAsync(int evaluateEvery, RecordingObserver observer)
    {
        var plan = new TrainingPlan(Epochs, Batch, Seed: 7, new LearningRateSchedule(0.05, ScheduleKind.Constant, 0),
            MinimumWorkers: 2, ShardTimeout: TimeSpan.FromMinutes(2)) { EvaluateEvery = evaluateEvery, Speculate = false };
        var job = new TrainingJob(
            new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
            new DataSpec("synthetic", null, 0, false, TrainLimit: 3 * Batch, TestLimit: Batch),
            plan, new SgdSettings(0.9, true, 5e-4), Workers: 2, ThreadsPerWorker: 1, OutputDirectory: null);
        var outcome = await TrainingRun.RunAsync(Sys, job, observer, InProcessWorkers.Of(job), CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Failed?.Reason);
        return outcome;
    }
}
