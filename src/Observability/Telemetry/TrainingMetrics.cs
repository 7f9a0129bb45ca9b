using System.Diagnostics.Metrics;
using Distributed.Cluster.Transport;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Observability.Telemetry;

/// <summary>
/// The run's metrics as System.Diagnostics.Metrics instruments, exported at /metrics in Prometheus text format by
/// OpenTelemetry (see docs/operations.md for the list). Instrument names carry no unit: the exporter appends it
/// from the instrument's unit ("s" → _seconds) and "_total" to counters. Counters and histograms are recorded as
/// the coordinator reports; gauges read the latest figures from <see cref="RunTelemetry"/> at scrape time.
/// </summary>
public sealed class TrainingMetrics : ITrainingObserver, IDisposable
{
    public const string DefaultMeterName = "Distributed.Training";

    /// <summary>Seconds: 1 ms to 10 s covers a tiny test model's shard and a slow remote worker's step.</summary>
    private static readonly double[] DurationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Steps of staleness: every value up to 8 apart, then coarser up to the largest bound accepted (StepWindow.MaxStaleness).</summary>
    private static readonly long[] StalenessBuckets = [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64];

    private readonly Meter _meter;
    private readonly Counter<long> _steps;
    private readonly Counter<long> _epochs;
    private readonly Counter<long> _images;
    private readonly Counter<long> _healthSamples;
    private readonly Counter<long> _samples;
    private readonly Histogram<double> _stepDuration;
    private readonly Histogram<double> _phaseDuration;
    private readonly Histogram<double> _workerShardDuration;
    private readonly Histogram<long> _stepStaleness;
    // Each worker's latest status from the coordinator (cumulative counts, recent shard times), read at scrape time by
    // the observable per-worker instruments: a new per-worker figure is one more instrument reading this.
    private readonly Dictionary<string, WorkerStatus> _workers = new(StringComparer.Ordinal);

    public TrainingMetrics(RunTelemetry telemetry, string meterName = DefaultMeterName)
    {
        MeterName = meterName;
        _meter = new Meter(meterName);
        var durations = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets };
        _steps = _meter.CreateCounter<long>("distributed_steps", description: "Training steps applied (exactly once each).");
        _epochs = _meter.CreateCounter<long>("distributed_epochs", description: "Epochs completed (with their evaluation).");
        _images = _meter.CreateCounter<long>("distributed_images", description: "Training images processed; rate() of it is the throughput.");
        _healthSamples = _meter.CreateCounter<long>("distributed_health_samples", description: "Steps on which gradient health was measured.");
        _samples = _meter.CreateCounter<long>("distributed_ledger_samples",
            description: "The sample ledger, counted at each epoch's end: training samples applied exactly once (outcome=applied), applied again (duplicated), " +
                "planned but never applied (dropped), left out in shards abandoned by backup workers (skipped).");
        _stepDuration = _meter.CreateHistogram("distributed_step_duration", "s", "Wall time of a training step, from dispatch to applied update.", advice: durations);
        _phaseDuration = _meter.CreateHistogram("distributed_step_phase_duration", "s",
            "A step's wall time split by phase (mean per worker): compute, transfer, wait (for the slowest shard), aggregation, optimizer, health, other.",
            advice: durations);
        _workerShardDuration = _meter.CreateHistogram("distributed_worker_shard_duration", "s",
            "Per worker: time from sending a training shard to receiving its gradient.", advice: durations);

        _stepStaleness = _meter.CreateHistogram<long>("distributed_step_staleness", null,
            "Per applied training step: the largest staleness τ of its shards (a shard of step t computed on weights t − τ; always 0 unless --staleness s >= 1).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = StalenessBuckets });
        _meter.CreateObservableGauge("distributed_worker_staleness_mean", () => Staleness(s => s.Mean),
            description: "Per worker: mean staleness τ (steps) of its applied training gradients.");
        _meter.CreateObservableGauge("distributed_worker_staleness_max", () => Staleness(s => s.Max),
            description: "Per worker: largest staleness τ (steps) of its applied training gradients (at most --staleness).");
        _meter.CreateObservableCounter("distributed_worker_speculative_copies", () => PerWorker(w => w.SpeculativeCopies),
            description: "Per worker: speculative copies of other workers' straggling training shards it was sent.");
        _meter.CreateObservableCounter("distributed_worker_speculative_wins", () => PerWorker(w => w.SpeculativeWins),
            description: "Per worker: speculative copies whose result came before the straggler's and counted.");
        _meter.CreateObservableCounter("distributed_worker_abandoned_shards", () => PerWorker(w => w.AbandonedShards),
            description: "Per worker: its training shards a step went ahead without (--backup-workers).");
        _meter.CreateObservableGauge("distributed_worker_shard_compute_time", ShardTimeQuantiles, "s",
            "Per worker: compute time of its recent training shards (last 64 answered, counted or not) at quantile 0.5, 0.9, 0.99 and 1 (max).");

        _meter.CreateObservableGauge("distributed_images_per_second", () => Finite(telemetry.Latest().ImagesPerSecond),
            description: "Training throughput, smoothed over recent steps.");
        _meter.CreateObservableGauge("distributed_train_loss", () => Finite(telemetry.Latest().Loss),
            description: "Training loss (cross-entropy), smoothed over recent steps.");
        _meter.CreateObservableGauge("distributed_train_accuracy_ratio", () => Finite(telemetry.Latest().Accuracy),
            description: "Training accuracy, smoothed over recent steps.");
        _meter.CreateObservableGauge("distributed_test_accuracy_ratio", () => Finite(telemetry.Latest().TestAccuracy),
            description: "Test accuracy of the latest evaluation.");
        _meter.CreateObservableGauge("distributed_learning_rate", () => Finite(telemetry.Latest().LearningRate),
            description: "Learning rate of the latest step.");
        _meter.CreateObservableGauge("distributed_gradient_norm", () => Finite(telemetry.Latest().GradientNorm),
            description: "L2 norm of the latest step's averaged gradient.");
        _meter.CreateObservableGauge<long>("distributed_epoch", () => [new Measurement<long>(telemetry.Latest().Epoch)],
            description: "Epoch in progress (0-based).");
        _meter.CreateObservableGauge<int>("distributed_workers", () =>
        {
            var membership = telemetry.Latest().Membership;
            return
            [
                new Measurement<int>(membership.Live, new KeyValuePair<string, object?>("state", "live")),
                new Measurement<int>(membership.Joining, new KeyValuePair<string, object?>("state", "joining")),
                new Measurement<int>(membership.Unreachable, new KeyValuePair<string, object?>("state", "unreachable")),
                new Measurement<int>(membership.Rejected, new KeyValuePair<string, object?>("state", "rejected")),
            ];
        }, description: "Workers by state: live, joining (configuring), unreachable (missed a deadline), rejected.");
        _meter.CreateObservableGauge("distributed_worker_straggler_score", () => telemetry.StragglerScores()
                .Select(s => new Measurement<double>(s.StragglerScore, new KeyValuePair<string, object?>("worker", s.Worker))),
            description: "Per worker: shard time over the step's median shard time, smoothed (1 = typical, > 1 = slower).");
        _meter.CreateObservableGauge<double>("distributed_checkpoint_age", () => telemetry.CheckpointAgeSeconds is { } age ? [new Measurement<double>(age)] : [],
            "s", "Time since checkpoint.bin was last written; absent while there is none.");
        _meter.CreateObservableGauge<double>("distributed_health_overhead_ratio", () => telemetry.HealthOverhead is { } overhead ? [new Measurement<double>(overhead)] : [],
            description: "Fraction of step time spent in gradient-health probes.");

        _meter.CreateObservableGauge("distributed_layer_gradient_norm", () => LayerMeasurements(telemetry, l => l.GradientNorm),
            description: "Per weight layer: L2 norm of the averaged gradient at the latest health step.");
        _meter.CreateObservableGauge("distributed_layer_update_ratio", () => LayerMeasurements(telemetry, l => l.UpdateRatio),
            description: "Per weight layer: norm of the applied update over the norm of the weights at the latest health step.");
        _meter.CreateObservableGauge("distributed_gradient_first_last_ratio", () => HealthMeasurement(telemetry, h => h.FirstToLastGradientRatio),
            description: "First weight layer's gradient norm over the last one's (<< 1: vanishing, >> 1: exploding).");
        _meter.CreateObservableGauge("distributed_dead_relu_ratio", () => HealthMeasurement(telemetry, h => h.DeadFraction),
            description: "Fraction of rectifier channels that fired for no input of the shard (mean over layers).");
        _meter.CreateObservableGauge("distributed_relu_coactivation_ratio", () => HealthMeasurement(telemetry, h => h.CoActivation),
            description: "Fraction of pairs of inputs on which a rectifier unit fires for both (mean over units and layers; ~0.25 with batch norm).");
        _meter.CreateObservableGauge("distributed_shattering_autocorrelation", () =>
            {
                var health = telemetry.Latest().Health;
                return health is null
                    ? []
                    : health.ShatteringAutocorrelation.Select((value, k) => new Measurement<double>(value, new KeyValuePair<string, object?>("lag", k + 1)));
            },
            description: "Autocorrelation of the loss's input gradient along a path between two samples, by lag (near 1: smooth, near 0: shattered).");
    }

    public string MeterName { get; }

    /// <summary>
    /// Exports this node's tensor channel byte counters (payload bytes served to and fetched from peers, the figures
    /// `train` prints at the end) as <c>distributed_tensor_sent_bytes_total</c> and
    /// <c>distributed_tensor_received_bytes_total</c>, labelled with the node's <paramref name="role"/>. They are
    /// read from the channel at scrape time, so they count from the node's start, as the channel does; rate() of
    /// them is the node's traffic, which is what grows with N workers and K servers (docs/scale.md).
    /// </summary>
    public void WatchTensorChannel(TensorChannel channel, string role)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentException.ThrowIfNullOrWhiteSpace(role);
        var label = new KeyValuePair<string, object?>("role", role);
        _meter.CreateObservableCounter("distributed_tensor_sent", () => new Measurement<long>(channel.BytesSent, label), "By",
            "Tensor payload bytes this node's tensor channel served to peers (weights, gradients, ranges) since the node started.");
        _meter.CreateObservableCounter("distributed_tensor_received", () => new Measurement<long>(channel.BytesReceived, label), "By",
            "Tensor payload bytes this node's tensor channel fetched from peers since the node started.");
    }

    public void OnStep(StepCompleted step)
    {
        _steps.Add(1);
        _images.Add(step.Samples);
        _stepDuration.Record(step.StepMilliseconds / 1000);
        _stepStaleness.Record(step.MaxStaleness);
    }

    public void OnEpoch(EpochCompleted epoch)
    {
        _epochs.Add(1);
        if (epoch.Samples is not { } ledger) return;
        _samples.Add(ledger.Applied, new KeyValuePair<string, object?>("outcome", "applied"));
        _samples.Add(ledger.Duplicated, new KeyValuePair<string, object?>("outcome", "duplicated"));
        _samples.Add(ledger.Dropped, new KeyValuePair<string, object?>("outcome", "dropped"));
        _samples.Add(ledger.Skipped, new KeyValuePair<string, object?>("outcome", "skipped"));
    }

    public void OnHealth(HealthSample health) => _healthSamples.Add(1);

    public void OnStatus(TrainingStatus status)
    {
        lock (_workers)
        {
            foreach (var worker in status.Workers) _workers[worker.Name] = worker;
        }
    }

    /// <summary>Only workers with applied training gradients have a staleness to show (none before their first step).</summary>
    private IEnumerable<Measurement<double>> Staleness(Func<StalenessTally, double> value)
    {
        lock (_workers)
        {
            return _workers.Where(w => w.Value.Staleness is { Shards: > 0 })
                .Select(w => new Measurement<double>(value(w.Value.Staleness!), new KeyValuePair<string, object?>("worker", w.Key))).ToArray();
        }
    }

    private IEnumerable<Measurement<long>> PerWorker(Func<WorkerStatus, long> count)
    {
        lock (_workers)
        {
            return _workers.Select(w => new Measurement<long>(count(w.Value), new KeyValuePair<string, object?>("worker", w.Key))).ToArray();
        }
    }

    private IEnumerable<Measurement<double>> ShardTimeQuantiles()
    {
        lock (_workers)
        {
            return _workers.Where(w => w.Value.ShardTimes is not null).SelectMany(w =>
            {
                var times = w.Value.ShardTimes!;
                return new[] { ("0.5", times.P50), ("0.9", times.P90), ("0.99", times.P99), ("1", times.Max) }.Select(q => new Measurement<double>(q.Item2 / 1000,
                    new KeyValuePair<string, object?>("worker", w.Key), new KeyValuePair<string, object?>("quantile", q.Item1)));
            }).ToArray();
        }
    }

    public void OnTimings(StepTimings timings)
    {
        var breakdown = RunTelemetry.Breakdown(timings);
        Phase("compute", breakdown.Compute);
        Phase("transfer", breakdown.Transfer);
        Phase("wait", breakdown.Wait);
        Phase("aggregation", breakdown.Aggregation);
        Phase("optimizer", breakdown.Optimizer);
        Phase("health", breakdown.Health);
        Phase("other", breakdown.Other);
        foreach (var shard in timings.Shards)
        {
            _workerShardDuration.Record((shard.ReceivedMilliseconds - shard.SentMilliseconds) / 1000,
                new KeyValuePair<string, object?>("worker", shard.Worker));
        }
    }

    private void Phase(string phase, double milliseconds) =>
        _phaseDuration.Record(milliseconds / 1000, new KeyValuePair<string, object?>("phase", phase));

    private static IEnumerable<Measurement<double>> Finite(double value) =>
        double.IsFinite(value) ? [new Measurement<double>(value)] : [];

    private static IEnumerable<Measurement<double>> HealthMeasurement(RunTelemetry telemetry, Func<HealthFigures, double> value) =>
        telemetry.Latest().Health is { } health ? Finite(value(health)) : [];

    private static IEnumerable<Measurement<double>> LayerMeasurements(RunTelemetry telemetry, Func<LayerHealth, double> value) =>
        telemetry.Latest().Health is { } health
            ? health.Layers.Where(l => double.IsFinite(value(l))).Select(l => new Measurement<double>(value(l), new KeyValuePair<string, object?>("layer", l.Layer)))
            : [];

    public void Dispose() => _meter.Dispose();
}
