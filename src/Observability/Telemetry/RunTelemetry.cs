using System.Diagnostics;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Model.GradientHealth;
using Distributed.Protocol;

namespace Distributed.Observability.Telemetry;

/// <summary>
/// The live state of one run as operators see it, folded from the coordinator's reports (steps, per-step
/// timings, health samples, membership). Callbacks arrive on the observer actor's thread; the dashboard and the
/// metric exporter read snapshots from other threads, so everything sits behind one lock. Gradient-health
/// warnings (a vanishing or exploding layer, a NaN loss) go to <c>warn</c> (the console and metrics file) as well.
/// </summary>
public sealed class RunTelemetry : ITrainingObserver
{
    private const int SeriesLength = 300;
    private const int HeatmapLength = 120;
    private const int AlertLength = 30;
    private const int BreakdownWindow = 20;
    private const double Smoothing = 0.1;

    private readonly object _gate = new();
    private readonly RunDescription _run;
    private readonly IReadOnlyList<LiveLayer> _layers;
    private readonly Action<string>? _warn;
    private readonly string? _checkpointPath;
    private readonly LiveHealthThresholds _thresholds;
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly List<StepPoint> _series = [];
    private readonly Queue<StepBreakdown> _recentBreakdowns = new();
    private readonly Dictionary<long, StepBreakdown> _pendingBreakdowns = new();
    private readonly List<EpochPoint> _epochs = [];
    private readonly Queue<(long Step, double[] Values)> _heatmap = new();
    private readonly Queue<Alert> _warnings = new();
    private readonly Queue<Alert> _notices = new();
    private readonly Dictionary<string, WorkerRecord> _workers = new(StringComparer.Ordinal);

    private long _version;
    private string _phase = "starting";
    private long _step = -1;
    private int _epoch;
    private long _totalSteps;
    private long _stepsCompleted;
    private long _images;
    private double _imagesPerSecond = double.NaN;
    private double _loss = double.NaN;
    private double _accuracy = double.NaN;
    private double _testAccuracy = double.NaN;
    private double _learningRate = double.NaN;
    private double _gradientNorm = double.NaN;
    private double _stepMilliseconds = double.NaN;
    private double _allStepMilliseconds;
    private double _healthMilliseconds;
    private int _nanLossSteps;
    private Membership _membership = new(0, 0, 0, 0);
    private HealthFigures? _health;

    public RunTelemetry(RunDescription run, IReadOnlyList<LiveLayer> layers, Action<string>? warn = null, string? checkpointPath = null,
        LiveHealthThresholds? thresholds = null)
    {
        _run = run;
        _layers = layers;
        _warn = warn;
        _checkpointPath = checkpointPath;
        _thresholds = thresholds ?? LiveHealthThresholds.Default;
    }

    /// <summary>Grows by one whenever anything changes; the event stream pushes a new snapshot when it moves.</summary>
    public long Version => Interlocked.Read(ref _version);

    public void OnStep(StepCompleted step)
    {
        string? warning = null;
        lock (_gate)
        {
            _step = step.Step;
            _epoch = step.Epoch;
            _stepsCompleted++;
            _images += step.Samples;
            var rate = step.Samples / Math.Max(1e-6, step.StepMilliseconds / 1000);
            _imagesPerSecond = Smooth(_imagesPerSecond, rate);
            _loss = double.IsFinite(step.Loss) ? Smooth(_loss, step.Loss) : step.Loss;
            _accuracy = Smooth(_accuracy, step.Accuracy);
            _learningRate = step.LearningRate;
            _gradientNorm = step.GradientNorm;
            _stepMilliseconds = step.StepMilliseconds;
            _allStepMilliseconds += step.StepMilliseconds;
            _phase = "training";
            _pendingBreakdowns.Remove(step.Step, out var breakdown);
            _series.Add(new StepPoint(step.Step, step.Epoch, step.Loss, step.Accuracy, step.LearningRate, step.GradientNorm, rate,
                step.StepMilliseconds, breakdown));
            if (_series.Count > SeriesLength) _series.RemoveAt(0);
            if (!double.IsFinite(step.Loss) || !double.IsFinite(step.GradientNorm))
            {
                // The first bad step and then one in fifty, so a diverged run does not flood the log.
                if (_nanLossSteps++ % 50 == 0)
                    warning = $"step {step.Step}: loss is {step.Loss}, gradient norm {step.GradientNorm}: training has diverged";
                if (warning is not null) Append(_warnings, new Alert(step.Step, "nan", warning, DateTimeOffset.UtcNow), AlertLength);
            }
            Changed();
        }
        if (warning is not null) _warn?.Invoke(warning);
    }

    public void OnEpoch(EpochCompleted epoch)
    {
        lock (_gate)
        {
            if (double.IsFinite(epoch.TestAccuracy)) _testAccuracy = epoch.TestAccuracy;
            _epochs.Add(new EpochPoint(epoch.Epoch, epoch.TrainLoss, epoch.TrainAccuracy, Finite(epoch.TestLoss), Finite(epoch.TestAccuracy),
                epoch.ImagesPerSecond, epoch.Seconds));
            Changed();
        }
    }

    public void OnNotice(TrainingNotice notice)
    {
        lock (_gate)
        {
            Append(_notices, new Alert(Math.Max(0, _step), "notice", notice.Text, DateTimeOffset.UtcNow), AlertLength);
            Changed();
        }
    }

    private bool _over;

    public void OnStatus(TrainingStatus status)
    {
        lock (_gate)
        {
            // A status report still in flight when the run ends must not make it look live again.
            if (!_over) _phase = status.Phase;
            _totalSteps = status.TotalSteps;
            // The coordinator lists every worker of the run, departed ones as gone, with the training shards each delivered.
            foreach (var worker in status.Workers)
            {
                var state = WorkerOf(worker.Name);
                state.State = worker.State;
                state.Shards = worker.ShardsCompleted;
                state.MissedDeadlines = worker.MissedDeadlines;
                state.Status = worker;
            }
            int Count(WorkerState state) => status.Workers.Count(w => w.State == state);
            var (live, joining, unreachable, rejected) =
                (Count(WorkerState.Live), Count(WorkerState.Joining), Count(WorkerState.Unreachable), Count(WorkerState.Rejected));
            _membership = new Membership(live, joining, unreachable, rejected);
            Changed();
        }
    }

    public void OnTimings(StepTimings timings)
    {
        lock (_gate)
        {
            var breakdown = Breakdown(timings);
            // The coordinator reports the step before its timings: attach them to the point already in the series.
            var index = _series.FindLastIndex(p => p.Step == timings.Step);
            if (index >= 0) _series[index] = _series[index] with { Breakdown = breakdown };
            else _pendingBreakdowns[timings.Step] = breakdown;
            Append(_recentBreakdowns, breakdown, BreakdownWindow);
            if (timings.Shards.Any(s => s.HealthMilliseconds > 0)) _healthMilliseconds += timings.Shards.Max(s => s.HealthMilliseconds);

            var shardTimes = timings.Shards.Select(s => s.ReceivedMilliseconds - s.SentMilliseconds).Order().ToList();
            var median = shardTimes.Count == 0 ? 0 : shardTimes.Count % 2 == 1
                ? shardTimes[shardTimes.Count / 2]
                : (shardTimes[shardTimes.Count / 2 - 1] + shardTimes[shardTimes.Count / 2]) / 2;
            var slowest = timings.Shards.MaxBy(s => s.ReceivedMilliseconds);
            foreach (var shard in timings.Shards)
            {
                var worker = WorkerOf(shard.Worker);
                var milliseconds = shard.ReceivedMilliseconds - shard.SentMilliseconds;
                worker.TimedShards++;
                worker.TotalMilliseconds += milliseconds;
                worker.LastMilliseconds = milliseconds;
                worker.Histogram[ShardHistogram.Bucket(milliseconds)]++;
                if (median > 0) worker.StragglerScore = Smooth(worker.StragglerScore, milliseconds / median);
                worker.SlowestFraction = Smooth(worker.SlowestFraction, timings.Shards.Length > 1 && ReferenceEquals(shard, slowest) ? 1 : 0);
            }
            Changed();
        }
    }

    public void OnHealth(HealthSample sample)
    {
        List<string> warnings;
        lock (_gate)
        {
            var statistics = LiveLayerStatistics.Compute(_layers, sample.Gradient, sample.WeightsBefore, sample.WeightsAfter);
            var totalSamples = Math.Max(1, sample.Shards.Sum(s => s.Samples));
            var activity = sample.Shards.SelectMany(s => s.Layers.Select(l => (Shard: s, Layer: l)))
                .GroupBy(x => x.Layer.Layer, StringComparer.Ordinal)
                .Select(g =>
                {
                    var weight = (double)Math.Max(1, g.Sum(x => x.Shard.Samples));
                    return new LayerActivityFigures(g.Key,
                        g.Sum(x => x.Layer.ActiveFraction * x.Shard.Samples) / weight,
                        g.Sum(x => x.Layer.DeadFraction * x.Shard.Samples) / weight,
                        g.Sum(x => x.Layer.CoActivation * x.Shard.Samples) / weight);
                }).ToList();
            var lags = sample.Shards.Where(s => s.ShatteringAutocorrelation.Length > 0).ToList();
            var shattering = lags.Count == 0
                ? []
                : Enumerable.Range(0, lags.Min(s => s.ShatteringAutocorrelation.Length))
                    .Select(k => lags.Sum(s => s.ShatteringAutocorrelation[k] * s.Samples) / Math.Max(1, lags.Sum(s => s.Samples))).ToList();
            _health = new HealthFigures(sample.Step, statistics.GlobalGradientNorm, statistics.FirstToLastGradientRatio,
                Mean(activity, a => a.DeadFraction), Mean(activity, a => a.CoActivation), Mean(activity, a => a.ActiveFraction), shattering,
                statistics.Layers.Select(l => new LayerHealth(l.Layer, l.GradientNorm, l.WeightNorm, l.UpdateRatio)).ToList(), activity);
            Append(_heatmap, (sample.Step, statistics.Layers.Select(l => l.GradientNorm > 0 ? Math.Log10(l.GradientNorm) : double.NegativeInfinity).ToArray()),
                HeatmapLength);

            warnings = statistics.Warnings(_thresholds)
                .Select(w => $"step {sample.Step}: layer {w.Layer} gradient {(w.Problem == LiveGradientProblem.Vanishing ? "vanishing" : "exploding")}: {w.Detail}")
                .ToList();
            var ratio = statistics.FirstToLastGradientRatio;
            if (double.IsFinite(ratio) && ratio < _thresholds.VanishingRelative)
                warnings.Add($"step {sample.Step}: first/last layer gradient ratio {ratio:G3}: gradients vanish on their way to the input");
            else if (ratio > _thresholds.ExplodingRelative)
                warnings.Add($"step {sample.Step}: first/last layer gradient ratio {ratio:G3}: gradients explode on their way to the input");
            foreach (var warning in warnings)
                Append(_warnings, new Alert(sample.Step, warning.Contains("vanish", StringComparison.Ordinal) ? "vanishing" : "exploding", warning,
                    DateTimeOffset.UtcNow), AlertLength);
            Changed();
        }
        foreach (var warning in warnings) _warn?.Invoke(warning);
    }

    /// <summary>Marks the run as over (finished or failed) so the page stops looking live.</summary>
    public void Finish(string phase)
    {
        lock (_gate)
        {
            _over = true;
            _phase = phase;
            Changed();
        }
    }

    /// <summary>Fraction of the run's step time spent in health probes (the slowest shard's probe per health step); null before any.</summary>
    public double? HealthOverhead
    {
        get
        {
            lock (_gate) return _healthMilliseconds > 0 && _allStepMilliseconds > 0 ? _healthMilliseconds / _allStepMilliseconds : null;
        }
    }

    /// <summary>Seconds since checkpoint.bin was last written, or null while there is none.</summary>
    public double? CheckpointAgeSeconds
    {
        get
        {
            if (_checkpointPath is null || !File.Exists(_checkpointPath)) return null;
            return Math.Max(0, (DateTime.UtcNow - File.GetLastWriteTimeUtc(_checkpointPath)).TotalSeconds);
        }
    }

    public TelemetrySnapshot Snapshot()
    {
        var checkpointAge = CheckpointAgeSeconds;
        var overhead = HealthOverhead;
        lock (_gate)
        {
            var layerNames = _layers.Select(l => l.Name).ToList();
            return new TelemetrySnapshot(
                new RunInfo(_run.Model, _run.Dataset, _run.Workers, _run.GlobalBatch, _run.Epochs, _run.HealthEvery, _run.OutputDirectory,
                    _startedAt, _uptime.Elapsed.TotalSeconds, _phase, Math.Max(0, _step + 1), _epoch, _totalSteps, _version),
                new Figures(Measured(_imagesPerSecond), Measured(_loss), Measured(_accuracy), Known(_testAccuracy), Measured(_learningRate),
                    Measured(_gradientNorm), Measured(_stepMilliseconds), checkpointAge, overhead, _stepsCompleted, _images),
                MeanBreakdown(),
                _membership,
                _workers.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w => w.Value.Figures(w.Key)).ToList(),
                _series.ToList(),
                _epochs.ToList(),
                _health,
                new Heatmap(layerNames, _heatmap.Select(h => h.Step).ToList(), _heatmap.Select(h => (IReadOnlyList<double>)h.Values).ToList()),
                _warnings.Reverse().ToList(),
                _notices.Reverse().ToList());
        }
    }

    /// <summary>The latest scalar figures for metric gauges, without building a whole snapshot.</summary>
    public (double Loss, double Accuracy, double TestAccuracy, double LearningRate, double GradientNorm, double ImagesPerSecond, long Step, int Epoch,
        Membership Membership, HealthFigures? Health) Latest()
    {
        lock (_gate) return (_loss, _accuracy, _testAccuracy, _learningRate, _gradientNorm, _imagesPerSecond, _step, _epoch, _membership, _health);
    }

    public IReadOnlyList<(string Worker, double StragglerScore)> StragglerScores()
    {
        lock (_gate) return _workers.Where(w => double.IsFinite(w.Value.StragglerScore)).Select(w => (w.Key, w.Value.StragglerScore)).ToList();
    }

    /// <summary>
    /// Splits the step into per-worker means that add up to its wall time: dispatch delay and the parameter server's
    /// messaging (other), round trip minus the worker's own time (transfer), compute, health probes, waiting for the
    /// last shard, averaging and the optimizer.
    /// </summary>
    public static StepBreakdown Breakdown(StepTimings timings)
    {
        var shards = timings.Shards;
        if (shards.Length == 0) return new StepBreakdown(0, 0, 0, timings.AggregationMilliseconds, timings.OptimizerMilliseconds, 0, 0);
        double compute = 0, transfer = 0, wait = 0, health = 0, dispatch = 0;
        foreach (var shard in shards)
        {
            compute += shard.ComputeMilliseconds;
            health += shard.HealthMilliseconds;
            transfer += Math.Max(0, shard.ReceivedMilliseconds - shard.SentMilliseconds - shard.ComputeMilliseconds - shard.HealthMilliseconds);
            wait += timings.ShardsDoneMilliseconds - shard.ReceivedMilliseconds;
            dispatch += shard.SentMilliseconds;
        }
        var n = shards.Length;
        var serverMessaging = Math.Max(0, timings.AppliedMilliseconds - timings.ShardsDoneMilliseconds - timings.AggregationMilliseconds - timings.OptimizerMilliseconds);
        return new StepBreakdown(compute / n, transfer / n, wait / n, timings.AggregationMilliseconds, timings.OptimizerMilliseconds, health / n,
            dispatch / n + serverMessaging);
    }

    private StepBreakdown MeanBreakdown()
    {
        if (_recentBreakdowns.Count == 0) return new StepBreakdown(0, 0, 0, 0, 0, 0, 0);
        var n = (double)_recentBreakdowns.Count;
        return new StepBreakdown(_recentBreakdowns.Sum(b => b.Compute) / n, _recentBreakdowns.Sum(b => b.Transfer) / n,
            _recentBreakdowns.Sum(b => b.Wait) / n, _recentBreakdowns.Sum(b => b.Aggregation) / n, _recentBreakdowns.Sum(b => b.Optimizer) / n,
            _recentBreakdowns.Sum(b => b.Health) / n, _recentBreakdowns.Sum(b => b.Other) / n);
    }

    /// <summary>Null before the first step; afterwards the value as it is, NaN included (a diverged run shows NaN).</summary>
    private double? Measured(double value) => _stepsCompleted == 0 ? null : value;

    private WorkerRecord WorkerOf(string name)
    {
        if (!_workers.TryGetValue(name, out var worker)) _workers[name] = worker = new WorkerRecord();
        return worker;
    }

    private void Changed() => Interlocked.Increment(ref _version);

    private static void Append<T>(Queue<T> queue, T item, int capacity)
    {
        queue.Enqueue(item);
        while (queue.Count > capacity) queue.Dequeue();
    }

    private static double Smooth(double previous, double value) =>
        double.IsNaN(previous) ? value : (1 - Smoothing) * previous + Smoothing * value;

    private static double Mean<T>(IReadOnlyCollection<T> items, Func<T, double> value) => items.Count == 0 ? double.NaN : items.Average(value);

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>NaN here means "not measured yet" (null).</summary>
    private static double? Known(double value) => double.IsNaN(value) ? null : value;
}
