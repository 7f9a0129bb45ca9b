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

    [Theory]
    [InlineData(1, new[] { 1, 2, 3, 4, 5 })]
    [InlineData(2, new[] { 2, 4, 5 })]
    [InlineData(3, new[] { 3, 5 })]
    [InlineData(0, new[] { 5 })]
    [InlineData(7, new[] { 5 })]
    public void Evaluate_every_n_picks_every_nth_epoch_and_always_the_last(int every, int[] evaluatedEpochs)
    {
        var progress = Progress(epochs: 5, trainCount: 8, batch: 4, startStep: 0, evaluateEvery: every);
        var evaluated = new List<int>();
        while (progress.NextRound() == RunProgress.Next.TrainStep)
        {
            progress.StepStarting(0);
            var epoch = progress.CurrentEpoch;
            if (progress.StepApplied(4, 1, 1, 1) && progress.EvaluatesAfter(epoch)) evaluated.Add(epoch + 1);
        }
        Assert.Equal(evaluatedEpochs, evaluated);
    }

    [Fact]
    public void A_run_cut_short_by_max_steps_is_evaluated_where_it_stops_and_a_plan_without_evaluation_never_is()
    {
        var plan = new TrainingPlan(5, 4, 1, new LearningRateSchedule(0.1, ScheduleKind.Constant, 0), 1, TimeSpan.FromSeconds(1), MaxSteps: 3)
            { EvaluateEvery = 0 };
        var progress = new RunProgress(plan, 0, new SampleOrder(8, 1, 4), testCount: 5);
        var ends = new List<(bool End, bool Evaluated)>();
        while (progress.NextRound() == RunProgress.Next.TrainStep)
        {
            progress.StepStarting(0);
            var epoch = progress.CurrentEpoch;
            var end = progress.StepApplied(4, 1, 1, 1);
            ends.Add((end, end && progress.EvaluatesAfter(epoch)));
        }
        Assert.Equal([(false, false), (true, false), (true, true)], ends);

        var silent = new RunProgress(plan with { EvaluateEachEpoch = false, MaxSteps = 0 }, 0, new SampleOrder(8, 1, 4), testCount: 5);
        while (silent.NextRound() == RunProgress.Next.TrainStep) silent.StepApplied(4, 1, 1, 1);
        Assert.False(silent.EvaluatesAfter(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => plan with { EvaluateEvery = -1 });
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

    private static RunProgress Progress(int epochs, int trainCount, int batch, long startStep, int evaluateEvery = 1)
    {
        var plan = new TrainingPlan(epochs, batch, 1, new LearningRateSchedule(0.1, ScheduleKind.Constant, 0), 1, TimeSpan.FromSeconds(1))
            { EvaluateEvery = evaluateEvery };
        return new RunProgress(plan, startStep, new SampleOrder(trainCount, 1, batch), testCount: 5);
    }
}
