namespace Distributed.Coordinator;

/// <summary>
/// Linear warmup to the peak, then decay to zero by the last step. The coordinator evaluates it, because only
/// it knows the dataset size (from the workers) and hence the number of steps.
/// </summary>
public sealed record LearningRateSchedule(double PeakLearningRate, ScheduleKind Kind, double WarmupEpochs)
{
    /// <summary>The batch size a base learning rate is quoted for.</summary>
    public const int ReferenceBatch = 128;

    /// <summary>Goyal et al. (2017): the learning rate grows in proportion to the global batch.</summary>
    public static double LinearScaling(double baseLearningRate, int globalBatch) =>
        baseLearningRate * globalBatch / ReferenceBatch;

    /// <summary>Learning rate for the update of step <paramref name="step"/> (0-based).</summary>
    public double At(long step, int stepsPerEpoch, long totalSteps)
    {
        var warmupSteps = (long)Math.Round(WarmupEpochs * stepsPerEpoch);
        if (warmupSteps > 0 && step < warmupSteps) return PeakLearningRate * (step + 1) / warmupSteps;
        var decaySteps = Math.Max(1, totalSteps - warmupSteps);
        var progress = Math.Clamp((double)(step - warmupSteps) / decaySteps, 0, 1);
        return Kind switch
        {
            ScheduleKind.Linear => PeakLearningRate * (1 - progress),
            ScheduleKind.Cosine => PeakLearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => PeakLearningRate,
        };
    }
}
