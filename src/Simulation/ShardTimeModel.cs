namespace Distributed.Simulation;

/// <summary>
/// How long one simulated worker takes for each shard it computes: samples × seconds per sample × the worker's fixed
/// speed factor (<c>--speed-spread</c>) × a fresh draw per shard. The draw is lognormal jitter, exp(σ·Z) with median 1
/// (<c>--jitter σ</c>: run-to-run noise of one machine), times <see cref="SlowdownFactor"/> with probability
/// <see cref="SlowdownProbability"/> (<c>--slowdowns F@P</c>: a transient hiccup such as a co-tenant, a garbage
/// collection or a throttled core, which lasts that shard and is gone for the next). Both are what make a synchronous
/// step wait for its slowest shard even on equal machines. Each worker draws from its own generator, seeded from the
/// run's seed and its index, in the order it computes its shards, so a run is reproducible for a seed. Pure.
/// </summary>
public sealed class ShardTimeModel
{
    private readonly Random _random;

    public ShardTimeModel(double secondsPerSample, double jitterSigma, double slowdownFactor, double slowdownProbability, int seed)
    {
        if (!(secondsPerSample >= 0) || !double.IsFinite(secondsPerSample)) throw new ArgumentOutOfRangeException(nameof(secondsPerSample), secondsPerSample, "must be a finite number >= 0");
        if (!(jitterSigma >= 0) || !double.IsFinite(jitterSigma)) throw new ArgumentOutOfRangeException(nameof(jitterSigma), jitterSigma, "must be a finite number >= 0");
        if (!(slowdownFactor >= 1) || !double.IsFinite(slowdownFactor)) throw new ArgumentOutOfRangeException(nameof(slowdownFactor), slowdownFactor, "must be a finite number >= 1");
        if (!(slowdownProbability is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(slowdownProbability), slowdownProbability, "must be between 0 and 1");
        SecondsPerSample = secondsPerSample;
        JitterSigma = jitterSigma;
        SlowdownFactor = slowdownFactor;
        SlowdownProbability = slowdownProbability;
        _random = new Random(seed);
    }

    /// <summary>This worker's time per sample before a shard's draw: the base compute time times its fixed speed factor.</summary>
    public double SecondsPerSample { get; }
    public double JitterSigma { get; }
    public double SlowdownFactor { get; }
    public double SlowdownProbability { get; }

    /// <summary>Shards computed so far that drew a slowdown.</summary>
    public int Slowdowns { get; private set; }

    /// <summary>The seed of worker <paramref name="index"/>'s generator: distinct per worker, fixed by the run's seed.</summary>
    // Not HashCode.Combine: that is randomized per process, and a seed must give the same run tomorrow.
    public static int SeedFor(int runSeed, int index) => unchecked(runSeed * 1_000_003 + (index + 1) * 7_919);

    /// <summary>Seconds the next shard of <paramref name="samples"/> samples takes; draws the shard's jitter and slowdown.</summary>
    public double NextShardSeconds(int samples)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(samples);
        var factor = 1.0;
        // Draws are taken only for what is switched on, so a run without jitter or slowdowns uses no random numbers.
        if (JitterSigma > 0) factor *= Math.Exp(JitterSigma * StandardNormal());
        if (SlowdownProbability > 0 && _random.NextDouble() < SlowdownProbability)
        {
            factor *= SlowdownFactor;
            Slowdowns++;
        }
        return samples * SecondsPerSample * factor;
    }

    /// <summary>Box–Muller: one standard normal from two uniforms (1 − U keeps the logarithm finite).</summary>
    private double StandardNormal()
    {
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
