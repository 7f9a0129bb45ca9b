namespace Distributed.Coordinator;

/// <summary>
/// Decides which running training shard deserves a speculative copy: one that has run well past what shards
/// normally take, judged from the shard times of the last few steps and the shards of this step that are done,
/// and only as far past as the recent shards say a copy would have paid (<see cref="EvidenceFactor"/>).
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

    /// <summary>
    /// Shards whose times on their first worker are the evidence of what a copy would have won: a few dozen steps'
    /// worth, so a worker that turns slow counts within a few steps and an old episode is forgotten.
    /// </summary>
    public const int EvidenceShards = 256;

    /// <summary>A copy, once started, takes about one median shard time (the idle worker computes the whole shard).</summary>
    public const double CopyShardTimes = 1;

    private const double MadToSigma = 1.4826;

    private readonly Queue<double[]> _recentSteps = new();
    // Recent shards' times on the worker first given them, in medians of their time; and the factor they support.
    private readonly Queue<double> _evidence = new();
    private double? _evidenceFactor;
    // Shards a copy won, by (round, shard): the worker first given the shard and when it was sent.
    private readonly Dictionary<(long Round, int Shard), (TWorker Worker, double SentAt)> _lateOriginals = new();
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
    /// A shard's time from being sent to the worker first given it to that worker's result: for a shard a copy won,
    /// the original's late result (which the coordinator discards) tells it. Joins the evidence in medians of the
    /// current distribution; ignored until there is one.
    /// </summary>
    public void OriginalFinished(double milliseconds)
    {
        if (!double.IsFinite(milliseconds) || milliseconds < 0 || WindowMedian() is not { } median || median <= 0) return;
        _evidence.Enqueue(milliseconds / median);
        while (_evidence.Count > EvidenceShards) _evidence.Dequeue();
        _evidenceFactor = null;
    }

    /// <summary>
    /// The smallest factor k (at least the configured one) at which, among the recent shards, a copy started at
    /// k × median would have won at least as often as it lost: of the shards that ran past k medians, at least half ran
    /// past k + <see cref="CopyShardTimes"/>, where the copy would have finished. On a cluster of equal workers the
    /// shards past 1.5 medians are jitter that ends soon after (a copy started there loses, and costs its worker's next
    /// shard a late start), so k rises above the jitter; a worker that is really slow puts its shards far past, and k
    /// falls back to the configured factor within a few steps. Where no recent shard ran past k, nothing says a copy
    /// there would lose, so k stands.
    /// </summary>
    public double EvidenceFactor()
    {
        if (_evidenceFactor is { } cached) return cached;
        var ratios = _evidence.OrderBy(r => r).ToArray();
        var factor = _factor;
        foreach (var candidate in ratios.Where(r => r > _factor).Prepend(_factor))
        {
            var past = ratios.Count(r => r > candidate);
            var won = ratios.Count(r => r > candidate + CopyShardTimes);
            if (2 * won >= past)
            {
                factor = candidate;
                break;
            }
        }
        _evidenceFactor = factor;
        return factor;
    }

    /// <summary>
    /// Milliseconds past which a running shard is a straggler: max(k × median, median + m × σ, median + floor) over the
    /// recent steps' shard times and <paramref name="finishedThisStep"/>, where k is the <see cref="EvidenceFactor"/>;
    /// null while there are too few times to judge.
    /// </summary>
    public double? Threshold(IEnumerable<double> finishedThisStep)
    {
        var times = _recentSteps.SelectMany(t => t).Concat(finishedThisStep.Where(double.IsFinite)).ToArray();
        if (times.Length < MinimumSamples) return null;
        var median = Median(times);
        var mad = Median(times.Select(t => Math.Abs(t - median)).ToArray());
        return Math.Max(EvidenceFactor() * median, Math.Max(median + _spread * MadToSigma * mad, median + _floorMilliseconds));
    }

    /// <summary>
    /// A copy won shard <paramref name="shard"/> of round <paramref name="round"/>, first given to <paramref name="original"/>
    /// at <paramref name="sentAt"/>: the original's result, when it comes, is discarded but still timed
    /// (<see cref="Answered"/>). Without it the shards copies won would look as short as the copies made them, and the
    /// evidence would stop supporting copies exactly when they pay. Waits older than <see cref="LateOriginalRounds"/>
    /// rounds are given up (a straggler that died never answers).
    /// </summary>
    public void CopyWon(long round, int shard, TWorker original, double sentAt)
    {
        foreach (var stale in _lateOriginals.Keys.Where(k => k.Round < round - LateOriginalRounds).ToList()) _lateOriginals.Remove(stale);
        _lateOriginals[(round, shard)] = (original, sentAt);
    }

    /// <summary>
    /// A worker answered shard <paramref name="shard"/> of round <paramref name="round"/> at <paramref name="now"/> (same
    /// clock as <see cref="CopyWon"/>'s sentAt): if it is the late original of a shard a copy won, its time joins the
    /// evidence (a failure answer just ends the wait).
    /// </summary>
    public void Answered(long round, int shard, TWorker worker, double now, bool finished)
    {
        if (!_lateOriginals.TryGetValue((round, shard), out var original) || !ReferenceEquals(original.Worker, worker)) return;
        _lateOriginals.Remove((round, shard));
        if (finished) OriginalFinished(now - original.SentAt);
    }

    /// <summary>Late originals awaited at most this many rounds after their copy won.</summary>
    public const long LateOriginalRounds = 64;

    private double? WindowMedian()
    {
        var times = _recentSteps.SelectMany(t => t).ToArray();
        return times.Length < MinimumSamples ? null : Median(times);
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
