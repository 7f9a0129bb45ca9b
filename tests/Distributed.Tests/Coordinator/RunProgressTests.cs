using Distributed.Coordinator;
using Distributed.Protocol;

namespace Distributed.Tests.Coordinator;

public sealed class RunProgressTests
{
    [Fact]
    public void Steps_end_epochs_and_the_run_at_the_planned_counts()
    {
        var progress = Progress(epochs: 2, trainCount: 10, batch: 4, startStep: 0);
        Assert.Equal(6, progress.TotalSteps);
        var ends = new List<bool>();
        while (progress.NextRound() == RunProgress.Next.TrainStep)
        {
            progress.StepStarting(0);
            ends.Add(progress.StepApplied(4, 2.0, 3, 1));
        }
        Assert.Equal([false, false, true, false, false, true], ends);
        Assert.Equal(RunProgress.Next.EvaluateFinalWeights, progress.NextRound());
    }

    [Fact]
    public void A_run_whose_last_epoch_was_evaluated_finishes_and_a_resumed_finished_run_evaluates_its_weights_once()
    {
        var evaluated = Progress(epochs: 1, trainCount: 4, batch: 4, startStep: 0);
        evaluated.StepStarting(0);
        Assert.True(evaluated.StepApplied(4, 1, 1, 1));
        evaluated.Evaluated(0.5);
        Assert.Equal(RunProgress.Next.Finish, evaluated.NextRound());

        var resumed = Progress(epochs: 1, trainCount: 4, batch: 4, startStep: 1);
        Assert.Equal(RunProgress.Next.EvaluateFinalWeights, resumed.NextRound());
        resumed.FinalEvaluationStarting();
        Assert.Equal(0, resumed.LastEpoch);
        Assert.Equal(RunProgress.Next.Finish, resumed.NextRound());
    }

    [Fact]
    public void The_epoch_tally_counts_samples_loss_and_accuracy_and_its_images_per_second()
    {
        var progress = Progress(epochs: 1, trainCount: 8, batch: 4, startStep: 0);
        progress.StepStarting(10);
        progress.StepApplied(4, 4.0, 2, 11);
        progress.StepStarting(11);
        progress.StepApplied(4, 2.0, 4, 12);
        Assert.Equal((8, 0.75, 0.75, 4.0), (progress.Tally.Samples, progress.Tally.MeanLoss, progress.Tally.Accuracy, progress.LastImagesPerSecond));
        Assert.Equal(0.5, progress.LastLoss);
    }

    private static RunProgress Progress(int epochs, int trainCount, int batch, long startStep)
    {
        var plan = new TrainingPlan(epochs, batch, 1, new LearningRateSchedule(0.1, ScheduleKind.Constant, 0), 1, TimeSpan.FromSeconds(1));
        return new RunProgress(plan, startStep, new SampleOrder(trainCount, 1, batch), testCount: 5);
    }
}
