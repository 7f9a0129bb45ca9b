namespace Distributed.Coordinator;

/// <summary>
/// Where the run stands: the step, the epoch's tally, the last test accuracy, and what comes after a round
/// (another step, the epoch's evaluation, a final evaluation of a resumed run's weights, or the end).
/// </summary>
public sealed class RunProgress(TrainingPlan plan, long startStep, SampleOrder order, int testCount)
{
    public long Step { get; private set; } = startStep;
    public long TotalSteps { get; } = plan.TotalSteps(order.Count);
    public int StepsPerEpoch => order.StepsPerEpoch;
    public EpochTally Tally { get; private set; } = new(0, 0);
    public double LastTestAccuracy { get; private set; } = double.NaN;
    public double LastLoss { get; private set; } = double.NaN;
    public double LastImagesPerSecond { get; private set; }
    public bool EvaluatingFinalWeightsOnly { get; private set; }

    public enum Next { TrainStep, EvaluateFinalWeights, Finish }

    /// <summary>
    /// What the next round is. A run resumed from a checkpoint of its last step (stopped during its final
    /// evaluation, or already done) has no step left to train, but its final weights still deserve a test accuracy.
    /// </summary>
    public Next NextRound()
    {
        if (Step < TotalSteps) return Next.TrainStep;
        return double.IsNaN(LastTestAccuracy) && plan.EvaluateEachEpoch && testCount > 0 && Step > 0 && !EvaluatingFinalWeightsOnly
            ? Next.EvaluateFinalWeights
            : Next.Finish;
    }

    /// <summary>The final evaluation's result ends the run instead of reporting an epoch.</summary>
    public void FinalEvaluationStarting() => EvaluatingFinalWeightsOnly = true;

    public int CurrentEpoch => order.EpochOf(Step);

    /// <summary>The epoch of the last applied step (the one a final evaluation reports on).</summary>
    public int LastEpoch => (int)((Step - 1) / StepsPerEpoch);

    /// <summary>Called as a training step starts: a new epoch opens a new tally.</summary>
    public void StepStarting(double nowSeconds)
    {
        var epoch = CurrentEpoch;
        if (Step % StepsPerEpoch == 0 || Tally.Epoch != epoch) Tally = new EpochTally(epoch, nowSeconds);
    }

    /// <summary>Counts an applied step; true when it ended an epoch (or the run).</summary>
    public bool StepApplied(int samples, double lossSum, int correct, double nowSeconds)
    {
        Tally.Add(samples, lossSum, correct);
        LastLoss = lossSum / samples;
        Step++;
        var epochEnds = Step % StepsPerEpoch == 0 || Step >= TotalSteps;
        if (epochEnds)
        {
            Tally.TrainSeconds = nowSeconds - Tally.StartedSeconds;
            LastImagesPerSecond = Tally.ImagesPerSecond;
        }
        return epochEnds;
    }

    /// <summary>
    /// Whether the epoch <paramref name="epoch"/> (0-based) that just ended is evaluated: every
    /// <see cref="TrainingPlan.EvaluateEvery"/>-th epoch, and the run's last one whatever N is, so a run always ends with
    /// its final weights' test accuracy.
    /// </summary>
    public bool EvaluatesAfter(int epoch) =>
        plan.EvaluateEachEpoch && testCount > 0 &&
        (Step >= TotalSteps || (plan.EvaluateEvery > 0 && (epoch + 1) % plan.EvaluateEvery == 0));

    public void Evaluated(double accuracy) => LastTestAccuracy = accuracy;
}
