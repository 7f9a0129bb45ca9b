using System.Globalization;
using Distributed.Coordinator;

namespace Distributed.Simulation;

/// <summary>
/// One simulated cluster: N workers, K servers, the model's size, the batch, and the machine and network model.
/// <see cref="SpeedSpread"/> s gives each worker a compute time multiplied by a factor drawn uniformly from
/// [1, 1 + s] (seeded), for straggler studies; 0 makes every worker equal. <see cref="JitterSigma"/> and the
/// slowdowns vary each shard's time on top of that (<see cref="ShardTimeModel"/>). The straggler remedies are the
/// real coordinator's, carried into its <c>TrainingPlan</c>: <see cref="Speculate"/>, <see cref="BackupWorkers"/> and <see cref="Staleness"/>.
/// </summary>
public sealed record SimulationOptions(
    int Workers,
    int Servers,
    int Steps,
    long ModelBytes,
    int GlobalBatch,
    double ComputeMillisecondsPerSample,
    double BandwidthGbps,
    double LatencyMicroseconds,
    double SpeedSpread,
    TransferPath Path,
    double ServerGigabytesPerSecond,
    double ShardTimeoutSeconds,
    int Seed = 1)
{
    public const int MaxWorkers = 1024;
    public const int MaxServers = 64;
    public const int MaxSteps = 10_000;

    /// <summary>Lognormal σ of each shard's compute time (<c>--jitter</c>); 0: every shard of a worker takes the same time.</summary>
    public double JitterSigma { get; init; }

    /// <summary>A shard is <see cref="SlowdownFactor"/>× slow with probability <see cref="SlowdownProbability"/> (<c>--slowdowns F@P</c>).</summary>
    public double SlowdownFactor { get; init; } = 1;
    public double SlowdownProbability { get; init; }

    /// <summary>The coordinator's speculative copies of straggling shards (on unless <c>--no-speculate</c>, as in train).</summary>
    public bool Speculate { get; init; } = true;

    /// <summary>Shards each training step may go without (<c>--backup-workers b</c>, as in train); 0 waits for every shard.</summary>
    public int BackupWorkers { get; init; }

    /// <summary>Bounded staleness s (<c>--staleness</c>, as in train): up to s + 1 steps open at once; 0 is synchronous. The coordinator turns speculation off with it.</summary>
    public int Staleness { get; init; }

    /// <summary>Bytes a link carries per second, each way.</summary>
    public double BytesPerSecond => BandwidthGbps * 1e9 / 8;

    /// <summary>The first problem with these options, named by the command-line flag that sets it, or null.</summary>
    public string? Validate()
    {
        if (Workers < 1 || Workers > MaxWorkers) return $"--workers {Workers} must be between 1 and {MaxWorkers}";
        if (Servers < 1 || Servers > MaxServers) return $"--ps-shards {Servers} must be between 1 and {MaxServers}";
        if (Path == TransferPath.Coordinator && Servers != 1)
            return $"--path coordinator has one parameter server, so --ps-shards {Servers} needs --path direct";
        if (Steps < 1 || Steps > MaxSteps) return $"--steps {Steps} must be between 1 and {MaxSteps}";
        if (ModelBytes <= 0 || ModelBytes % sizeof(float) != 0) return $"--model-bytes {ModelBytes} must be a positive multiple of 4 (whole floats)";
        if (ModelBytes / sizeof(float) < (long)Servers * TrafficPlan.AlignmentFloats)
            return $"--model-bytes {ModelBytes} is too small for {Servers} servers: each must own at least {TrafficPlan.AlignmentFloats} floats";
        if (GlobalBatch < Workers) return $"--global-batch {GlobalBatch} must be at least --workers {Workers}: every worker needs a sample each step";
        if ((long)GlobalBatch * Steps > int.MaxValue) return $"--global-batch {GlobalBatch} × --steps {Steps} samples is more than one epoch can index";
        if (!(ComputeMillisecondsPerSample >= 0) || !double.IsFinite(ComputeMillisecondsPerSample))
            return $"--compute-per-sample-ms {Text(ComputeMillisecondsPerSample)} must be a finite number >= 0";
        if (!(BandwidthGbps > 0) || !double.IsFinite(BandwidthGbps)) return $"--bandwidth-gbps {Text(BandwidthGbps)} must be a positive finite number";
        if (!(LatencyMicroseconds >= 0) || !double.IsFinite(LatencyMicroseconds)) return $"--latency-us {Text(LatencyMicroseconds)} must be a finite number >= 0";
        if (!(SpeedSpread >= 0) || !double.IsFinite(SpeedSpread)) return $"--speed-spread {Text(SpeedSpread)} must be a finite number >= 0";
        if (!(JitterSigma >= 0) || !double.IsFinite(JitterSigma) || JitterSigma > MaxJitterSigma)
            return $"--jitter {Text(JitterSigma)} must be a number between 0 and {Text(MaxJitterSigma)} (the σ of a shard's log compute time)";
        if (!(SlowdownFactor >= 1) || !double.IsFinite(SlowdownFactor)) return $"--slowdowns {SlowdownText}: the factor F must be a finite number >= 1";
        if (!(SlowdownProbability is >= 0 and <= 1)) return $"--slowdowns {SlowdownText}: the probability P must be between 0 and 1";
        if (BackupWorkers < 0 || BackupWorkers >= Workers)
            return $"--backup-workers {BackupWorkers} must be at least 0 and less than --workers {Workers}: a step needs at least one shard";
        if (Staleness < 0 || Staleness > StepWindow.MaxStaleness)
            return $"--staleness {Staleness} must be between 0 (synchronous) and {StepWindow.MaxStaleness} steps";
        if (Staleness > 0 && BackupWorkers > 0)
            return $"--staleness {Staleness} cannot be combined with --backup-workers {BackupWorkers}: backup workers drop a step's late shards at its barrier, " +
                "and bounded staleness has no barrier";
        if (!(ServerGigabytesPerSecond > 0) || !double.IsFinite(ServerGigabytesPerSecond))
            return $"--server-gbytes-per-s {Text(ServerGigabytesPerSecond)} must be a positive finite number";
        if (!(ShardTimeoutSeconds > 0) || !double.IsFinite(ShardTimeoutSeconds)) return $"--shard-timeout {Text(ShardTimeoutSeconds)} must be a positive number of seconds";
        return null;
    }

    /// <summary>Each worker's compute time multiplier, in worker order: 1 + spread · U[0, 1), from the seed.</summary>
    public double[] SpeedFactors()
    {
        var random = new Random(Seed);
        return Enumerable.Range(0, Workers).Select(_ => 1 + SpeedSpread * random.NextDouble()).ToArray();
    }

    /// <summary>The straggler remedy these options run, as <c>--remedies</c> names it: sync, speculate, backup=B or stale=S.</summary>
    public string Remedy => Staleness > 0 ? $"stale={Staleness}" : BackupWorkers > 0
        ? $"backup={BackupWorkers}" + (Speculate ? "" : " (no speculation)")
        : Speculate ? "speculate" : "sync";

    /// <summary>σ beyond 2 makes one shard in twenty take 27× the median: not a spread of speeds but a broken machine.</summary>
    public const double MaxJitterSigma = 2;

    private string SlowdownText => $"{Text(SlowdownFactor)}@{Text(SlowdownProbability)}";

    /// <summary>Worker <paramref name="index"/>'s shard times: the base compute time, its speed factor, and the per-shard jitter and slowdowns.</summary>
    public ShardTimeModel ShardTimes(int index, double speedFactor) =>
        new(ComputeMillisecondsPerSample / 1000 * speedFactor, JitterSigma, SlowdownFactor, SlowdownProbability, ShardTimeModel.SeedFor(Seed, index));

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);
}
