namespace Distributed.Coordinator;

/// <summary>
/// How the coordinator walks through the data. Everything that shapes the result is here or in the optimizer settings.
/// <see cref="HealthEvery"/> (0: never) makes every K-th step also measure gradient health; it does not change the result.
/// </summary>
public sealed record TrainingPlan(
    int Epochs,
    int GlobalBatch,
    int Seed,
    LearningRateSchedule Schedule,
    int MinimumWorkers,
    TimeSpan ShardTimeout,
    long MaxSteps = 0,
    bool EvaluateEachEpoch = true,
    long StartStep = 0,
    int HealthEvery = 0)
{
    public static int StepsPerEpoch(int trainCount, int globalBatch) => (trainCount + globalBatch - 1) / globalBatch;

    public long TotalSteps(int trainCount)
    {
        var all = (long)Epochs * StepsPerEpoch(trainCount, GlobalBatch);
        return MaxSteps > 0 ? Math.Min(all, MaxSteps) : all;
    }
}
