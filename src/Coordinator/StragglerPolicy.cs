namespace Distributed.Coordinator;

/// <summary>
/// Decides which running training shard deserves a speculative copy: one that has run well past what shards
/// normally take, judged from the shard times of the last few steps and the shards of this step that are done.
/// A copy goes only to an idle worker (no shard outstanding) other than the shard's own, and a shard gets at most
/// one copy. Pure: the coordinator reports times and asks; it sends the copies.
/// Keyed by whatever identifies a worker to the caller (an actor ref in the coordinator), so it is testable alone.
/// </summary>
public sealed class StragglerPolicy<TWorker> where TWorker : class
{
    /// <summary>Steps of shard times the distribution remembers: enough for a stable median, short enough to follow a cluster whose speed drifts.</summary>
    public const int DefaultWindowSteps = 8;

    /// <summary>
    /// A copy started at k × median finishes near (k + 1) × median, so it beats a straggler that takes more than
    /// that; k = 1.5 lets a copy win against a worker 2.5× slow or worse, and still waits half a shard's time
    /// more than a typical shard takes, so ordinary spread does not trigger copies.
    /// </summary>
    public const double DefaultFactor = 1.5;

    /// <summary>
    /// Robust standard deviations above the median (the Hampel outlier rule, σ ≈ 1.4826 × MAD): where shard times
    /// are noisy (a time-shared machine) the threshold widens with the noise instead of copying its tail.
    /// </summary>
    public const double DefaultSpread = 3;

    /// <summary>
    /// Milliseconds a shard must exceed the median by, whatever the distribution: with tiny shards (a few ms) a
    /// garbage collection or a scheduler tick would otherwise be "well past its peers", and a copy costs a
    /// weights transfer that is not worth saving a few milliseconds.
    /// </summary>
    public const double DefaultFloorMilliseconds = 50;

    /// <summary>Shard times needed before any judgement: with fewer, the median is one worker's time, not a peer group's.</summary>
    public const int MinimumSamples = 3;

    private const double MadToSigma = 1.4826;

    private readonly Queue<double[]> _recentSteps = new();
    private readonly int _windowSteps;
    private readonly double _factor;
    private readonly double _spread;
    private readonly double _floorMilliseconds;

    public StragglerPolicy(int windowSteps = DefaultWindowSteps, double factor = DefaultFactor, double spread = DefaultSpread,
        double floorMilliseconds = DefaultFloorMilliseconds)
    {
        if (windowSteps < 1) throw new ArgumentOutOfRangeException(nameof(windowSteps), windowSteps, "the window must hold at least one step");
        if (!(factor >= 1) || !double.IsFinite(factor)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "the factor must be a finite number >= 1");
        if (!(spread >= 0) || !double.IsFinite(spread)) throw new ArgumentOutOfRangeException(nameof(spread), spread, "the spread must be a finite number >= 0");
        if (!(floorMilliseconds >= 0) || !double.IsFinite(floorMilliseconds))
            throw new ArgumentOutOfRangeException(nameof(floorMilliseconds), floorMilliseconds, "the floor must be a finite number of milliseconds >= 0");
        _windowSteps = windowSteps;
        _factor = factor;
        _spread = spread;
        _floorMilliseconds = floorMilliseconds;
    }

    /// <summary>A step's shard times (send to accepted result) join the distribution; the oldest step beyond the window leaves it.</summary>
    public void StepFinished(IEnumerable<double> shardMilliseconds)
    {
        var times = shardMilliseconds.Where(double.IsFinite).ToArray();
        if (times.Length == 0) return;
        _recentSteps.Enqueue(times);
        while (_recentSteps.Count > _windowSteps) _recentSteps.Dequeue();
    }

    /// <summary>
    /// Milliseconds past which a running shard is a straggler: max(k × median, median + m × σ, median + floor) over the
    /// recent steps' shard times and <paramref name="finishedThisStep"/>; null while there are too few times to judge.
    /// </summary>
    public double? Threshold(IEnumerable<double> finishedThisStep)
    {
        var times = _recentSteps.SelectMany(t => t).Concat(finishedThisStep.Where(double.IsFinite)).ToArray();
        if (times.Length < MinimumSamples) return null;
        var median = Median(times);
        var mad = Median(times.Select(t => Math.Abs(t - median)).ToArray());
        return Math.Max(_factor * median, Math.Max(median + _spread * MadToSigma * mad, median + _floorMilliseconds));
    }

    /// <summary>
    /// The copies to start now: the running shards past the threshold that have no copy yet, longest-running first,
    /// each paired with the next idle worker (in the order given) that is not its own.
    /// </summary>
    public IReadOnlyList<Copy> Choose(IEnumerable<double> finishedThisStep, IReadOnlyList<Running> running, IReadOnlyList<TWorker> idleWorkers)
    {
        if (idleWorkers.Count == 0 || Threshold(finishedThisStep) is not { } threshold) return [];
        var free = idleWorkers.ToList();
        var copies = new List<Copy>();
        foreach (var shard in running.Where(s => !s.HasCopy && s.ElapsedMilliseconds > threshold).OrderByDescending(s => s.ElapsedMilliseconds))
        {
            var target = free.FirstOrDefault(w => !ReferenceEquals(w, shard.Worker));
            if (target is null) continue;
            free.Remove(target);
            copies.Add(new Copy(shard.Shard, target));
            if (free.Count == 0) break;
        }
        return copies;
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        var middle = values.Length / 2;
        return values.Length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }

    /// <summary>A shard without a result: the worker it was given to, how long ago, and whether it already has a copy.</summary>
    public sealed record Running(int Shard, TWorker Worker, double ElapsedMilliseconds, bool HasCopy);

    /// <summary>Send shard <see cref="Shard"/> to <see cref="Worker"/> as well.</summary>
    public sealed record Copy(int Shard, TWorker Worker);
}
