namespace Distributed.Coordinator;

/// <summary>
/// How the coordinator walks through the data. Everything that shapes the result is here or in the optimizer settings.
/// <see cref="HealthEvery"/> (0: never) makes every K-th step also measure gradient health; it does not change the result.
/// The bounds keep a run from waiting forever: <see cref="JoinTimeout"/> for <see cref="MinimumWorkers"/> to become
/// live (workers that cannot build the model or open the data never do), <see cref="MaxShardAttempts"/> for one
/// shard to be given to workers without an accepted result (stuck but reachable workers), and
/// <see cref="MaxNonFiniteResults"/> non-finite results before a worker is taken out of rotation.
/// <see cref="Speculate"/> lets an idle worker compute a copy of a straggling training shard (see
/// <see cref="StragglerPolicy{TWorker}"/>); the first result counts, so it changes the speed, never the weights.
/// <see cref="Staleness"/> s (bounded staleness, <see cref="StepWindow"/>): 0 is synchronous SGD; s ≥ 1 lets up to
/// s + 1 steps be open at once, so a step's gradient may be computed on weights up to s steps old. That changes the
/// math (docs/stragglers.md), and speculation is off with it: a free worker takes a later step's shard instead.
/// <see cref="BackupWorkers"/> (b, default 0) applies each training step with the first L − b of its L shards
/// (<see cref="BackupQuorum"/>): faster with stragglers, but the step's gradient is then over fewer samples, and which
/// ones depends on timing, so the weights are no longer reproducible; the skipped samples are counted in the ledger.
/// The two are refused together: backup workers drop a step's late shards at its barrier, and with s ≥ 1 there is
/// no barrier to drop them from (docs/stragglers.md).
/// <see cref="EvaluateEvery"/> N evaluates the test set after every N-th epoch and always after the run's last step
/// (0: only then); <see cref="EvaluateEachEpoch"/> false turns evaluation off altogether (simulations, tests).
/// Skipping an epoch's evaluation saves its time (5–9 % of a short run's wall time) and changes no weight.
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
    public TimeSpan JoinTimeout { get; init; } = DefaultJoinTimeout;
    public int MaxShardAttempts { get; init; } = DefaultMaxShardAttempts;
    public int MaxNonFiniteResults { get; init; } = DefaultMaxNonFiniteResults;
    public bool Speculate { get; init; } = DefaultSpeculate;

    public int EvaluateEvery
    {
        get => _evaluateEvery;
        init => _evaluateEvery = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(EvaluateEvery), value, "evaluate every N epochs needs N >= 0 (0: only after the last step)");
    }

    private readonly int _evaluateEvery = 1;
    // Each setter checks the other, so the combination is refused whichever of the two is set last.
    public int Staleness
    {
        get => _staleness;
        init => _staleness = value > 0 && _backupWorkers > 0 ? throw Combined() : value;
    }

    public int BackupWorkers
    {
        get => _backupWorkers;
        init => _backupWorkers = value < 0 ? throw new ArgumentOutOfRangeException(nameof(BackupWorkers), value, "backup workers must be >= 0")
            : value > 0 && _staleness > 0 ? throw Combined() : value;
    }

    private readonly int _staleness;
    private readonly int _backupWorkers;

    private static ArgumentException Combined() =>
        new("--staleness >= 1 and --backup-workers > 0 cannot be combined: backup workers drop a step's late shards at its barrier, " +
            "and bounded staleness has no barrier to drop them from");

    public static readonly TimeSpan DefaultJoinTimeout = TimeSpan.FromMinutes(10);
    public const int DefaultMaxShardAttempts = 8;
    public const int DefaultMaxNonFiniteResults = 2;
    /// <summary>On: with one worker slowed 3× (3 workers, 2 cores) it was faster in every pair measured and never changes the weights (bench/README.md, "Stragglers").</summary>
    public const bool DefaultSpeculate = true;

    public static int StepsPerEpoch(int trainCount, int globalBatch) => (trainCount + globalBatch - 1) / globalBatch;

    public long TotalSteps(int trainCount)
    {
        var all = (long)Epochs * StepsPerEpoch(trainCount, GlobalBatch);
        return MaxSteps > 0 ? Math.Min(all, MaxSteps) : all;
    }
}
