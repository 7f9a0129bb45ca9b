namespace Distributed.Training.Checkpoints;

/// <summary>
/// When a run writes a periodic checkpoint: every <see cref="EverySteps"/> applied steps, and whenever
/// <see cref="Every"/> has passed since the last one, whichever comes first. By default every 10 minutes, so a crash
/// never costs more than that whatever the model's step time; 0 steps and no time means only at the end.
/// </summary>
public sealed record CheckpointSchedule(long EverySteps, TimeSpan? Every)
{
    public static readonly TimeSpan DefaultEvery = TimeSpan.FromMinutes(10);

    public static CheckpointSchedule Default { get; } = new(0, DefaultEvery);

    public bool Due(long stepsApplied, TimeSpan sinceLastWrite) =>
        (EverySteps > 0 && stepsApplied > 0 && stepsApplied % EverySteps == 0) || (Every is { } every && sinceLastWrite >= every);

    public override string ToString() =>
        EverySteps <= 0 && Every is null ? "at the end only"
        : string.Join(" or ", new[] { EverySteps > 0 ? $"every {EverySteps} steps" : null, Every is { } e ? $"every {e.TotalMinutes:G} min" : null }.OfType<string>());
}
