namespace Distributed.Simulation;

/// <summary>
/// A finished simulation: its options and plan, each step, how long it took to simulate, and what the straggler
/// remedies did: the real coordinator's speculative copies (and how many won), the shards its backup workers
/// abandoned and the samples its ledger recorded as skipped, and the stale requests the simulated workers skipped.
/// </summary>
public sealed record SimulationResult(
    SimulationOptions Options,
    TrafficPlan Plan,
    IReadOnlyList<SimulatedStep> Steps,
    int ReassignedShards,
    double WallSeconds)
{
    public int SpeculativeCopies { get; init; }
    public int SpeculativeWins { get; init; }
    public int AbandonedShards { get; init; }

    /// <summary>Samples the coordinator's ledger counted as skipped (in shards abandoned by backup workers).</summary>
    public long LedgerSkippedSamples { get; init; }

    public int SkippedRequests { get; init; }

    /// <summary>Shards that drew a transient slowdown (<c>--slowdowns</c>).</summary>
    public int Slowdowns { get; init; }

    /// <summary>The mean step time, leaving out step 0 when there are more (it also carries the first weights to every worker).</summary>
    public double SteadyStepMilliseconds => Steady.Average(s => s.StepMilliseconds);

    public IEnumerable<SimulatedStep> Steady => Steps.Count > 1 ? Steps.Skip(1) : Steps;

    /// <summary>Nearest-rank percentile <paramref name="percent"/> of the steady steps' times.</summary>
    public double SteadyStepPercentile(double percent)
    {
        var times = Steady.Select(s => s.StepMilliseconds).Order().ToArray();
        var rank = (int)Math.Ceiling(percent / 100 * times.Length);
        return times[Math.Clamp(rank - 1, 0, times.Length - 1)];
    }

    /// <summary>
    /// Applied samples per second of steady steps, from step 0's completion to the last one's: what trains; samples a
    /// backup quorum skipped do not count. Measured between completions, not summed step times, because under bounded
    /// staleness steps overlap (in a synchronous run the two are the same: each step opens as the last completes).
    /// </summary>
    public double SteadyImagesPerSecond
    {
        get
        {
            var steady = Steady.ToList();
            var seconds = Steps.Count > 1 ? Steps[^1].CompletedSeconds - Steps[0].CompletedSeconds : Steps[0].StepMilliseconds / 1000;
            return seconds > 0 ? steady.Sum(s => (double)s.Samples) / seconds : double.NaN;
        }
    }
}
