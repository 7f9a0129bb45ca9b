namespace Distributed.Coordinator;

/// <summary>
/// Bounded staleness (stale-synchronous parallel, <c>--staleness s</c>) at the granularity of the global batch: which
/// training steps may be open at once and which weights a step's gradient may be computed on. Weights version v is
/// the state after v applied steps (plus the resumed run's offset), and steps are applied in order, so with a steps
/// applied the newest weights are version a. Step t may be open while a ≥ t − s: at most s + 1 steps are open, and a
/// shard of step t computed on version v counts when t − s ≤ v (staleness τ = t − v, 0 ≤ τ ≤ s).
/// s = 0 is synchronous SGD: one step open, every shard on the newest weights.
/// The window never reaches into the next epoch: the epoch's ledger, tally and evaluation close before its steps
/// open, so an epoch ends with a barrier (its evaluation sees exactly the epoch's final weights).
/// Pure: the coordinator asks, and opens, sends and applies.
/// </summary>
public sealed class StepWindow
{
    /// <summary>
    /// The largest s accepted. Each open step holds one gradient buffer per shard until it is applied, so memory grows
    /// with s × workers × model size; past a few dozen steps the gradients are so stale that SGD with momentum
    /// needs a smaller learning rate anyway (docs/stragglers.md).
    /// </summary>
    public const int MaxStaleness = 64;

    public StepWindow(int staleness)
    {
        if (staleness < 0 || staleness > MaxStaleness)
            throw new ArgumentOutOfRangeException(nameof(staleness), staleness, $"the staleness bound must be between 0 and {MaxStaleness} steps");
        Staleness = staleness;
    }

    /// <summary>s: how many versions older than its own step a shard's weights may be.</summary>
    public int Staleness { get; }

    /// <summary>
    /// Whether step <paramref name="next"/> may open now that <paramref name="applied"/> steps are applied: it lies at
    /// most s steps ahead of the oldest unapplied step, within the run and within that step's epoch.
    /// </summary>
    public bool MayOpen(long next, long applied, long totalSteps, int stepsPerEpoch)
    {
        if (next < applied || next >= totalSteps) return false;
        return next - applied <= Staleness && next / stepsPerEpoch == applied / stepsPerEpoch;
    }

    /// <summary>
    /// The staleness τ of a shard of step <paramref name="step"/> computed on weights <paramref name="version"/>;
    /// <paramref name="versionOffset"/> is the version the run started at minus its first step (0 unless a checkpoint says otherwise).
    /// </summary>
    public static long StalenessOf(long step, long version, long versionOffset) => step + versionOffset - version;

    /// <summary>Whether a result for step <paramref name="step"/> on <paramref name="version"/> counts: 0 ≤ τ ≤ s and the version exists.</summary>
    public bool Admits(long step, long version, long newestVersion, long versionOffset)
    {
        if (version > newestVersion) return false;
        var staleness = StalenessOf(step, version, versionOffset);
        return staleness >= 0 && staleness <= Staleness;
    }
}
