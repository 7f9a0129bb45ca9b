using Distributed.Protocol;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Distributed.Observability.Telemetry;

// What the dashboard page, /api/status and the `status` command see of a run: one JSON document, rebuilt on
// demand from RunTelemetry. Absent values are null ("not measured yet"); a NaN loss stays "NaN".

public sealed record TelemetrySnapshot(
    RunInfo Run,
    Figures Figures,
    StepBreakdown Breakdown,
    Membership Membership,
    IReadOnlyList<WorkerFigures> Workers,
    IReadOnlyList<StepPoint> Series,
    IReadOnlyList<EpochPoint> Epochs,
    HealthFigures? Health,
    Heatmap Heatmap,
    IReadOnlyList<Alert> Warnings,
    IReadOnlyList<Alert> Notices)
{
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter<WorkerState>(JsonNamingPolicy.CamelCase) },
    };
}

public sealed record RunInfo(
    string Model, string Dataset, int ConfiguredWorkers, int GlobalBatch, int Epochs, int HealthEvery, string? OutputDirectory,
    DateTimeOffset StartedAt, double UptimeSeconds, string Phase, long Step, int Epoch, long TotalSteps, long Version);

/// <summary>The latest figures; rates are smoothed over recent steps.</summary>
public sealed record Figures(
    double? ImagesPerSecond, double? Loss, double? TrainAccuracy, double? TestAccuracy, double? LearningRate, double? GradientNorm,
    double? StepMilliseconds, double? CheckpointAgeSeconds, double? HealthOverhead, long StepsCompleted, long ImagesProcessed);

/// <summary>
/// Where a step's wall time goes, mean per worker over recent steps (milliseconds); the parts add up to the step:
/// dispatch and coordination (other) + transfer + compute + health probes + waiting for the slowest shard +
/// averaging (aggregation) + the optimizer.
/// </summary>
public sealed record StepBreakdown(double Compute, double Transfer, double Wait, double Aggregation, double Optimizer, double Health, double Other);

/// <summary>Worker counts by state: live, joining, unreachable (missed a deadline), rejected.</summary>
public sealed record Membership(int Live, int Joining, int Unreachable, int Rejected);

/// <summary>
/// One worker. <see cref="StragglerScore"/>: its shard time (sent → answered) over the step's median shard time,
/// smoothed over recent steps: 1 is typical, 1.5 means half again as slow as the median worker. The shard figures
/// above and the histogram count the shards that went into steps; <see cref="ShardTimes"/> (from the coordinator)
/// covers every training shard the worker answered, late and abandoned ones too, as compute-time percentiles.
/// <see cref="SpeculativeCopies"/> / <see cref="SpeculativeWins"/>: copies of others' straggling shards it was sent
/// / that counted; <see cref="AbandonedShards"/>: its shards a step went ahead without (backup workers).
/// <see cref="Staleness"/>: how stale its applied gradients were (bounded staleness; all 0 in synchronous mode).
/// </summary>
public sealed record WorkerFigures(
    string Name, WorkerState State, long Shards, double? MeanShardMilliseconds, double? LastShardMilliseconds, double? StragglerScore,
    double? SlowestFraction, int MissedDeadlines, IReadOnlyList<long> Histogram,
    int SpeculativeCopies = 0, int SpeculativeWins = 0, ShardTimeSummary? ShardTimes = null, int AbandonedShards = 0, StalenessTally? Staleness = null);

public sealed record StepPoint(
    long Step, int Epoch, double Loss, double Accuracy, double LearningRate, double GradientNorm, double ImagesPerSecond,
    double StepMilliseconds, StepBreakdown? Breakdown);

public sealed record EpochPoint(int Epoch, double TrainLoss, double TrainAccuracy, double? TestLoss, double? TestAccuracy, double ImagesPerSecond, double Seconds);

public sealed record LayerHealth(string Layer, double GradientNorm, double WeightNorm, double UpdateRatio);

public sealed record LayerActivityFigures(string Layer, double ActiveFraction, double DeadFraction, double CoActivation);

/// <summary>Gradient health at the latest health step, aggregated over the shards (weighted by samples).</summary>
public sealed record HealthFigures(
    long Step, double GlobalGradientNorm, double FirstToLastGradientRatio, double DeadFraction, double CoActivation, double ActiveFraction,
    IReadOnlyList<double> ShatteringAutocorrelation, IReadOnlyList<LayerHealth> Layers, IReadOnlyList<LayerActivityFigures> Activity);

/// <summary>log10 of each layer's gradient norm (rows: layers, forward order) at each health step (columns).</summary>
public sealed record Heatmap(IReadOnlyList<string> Layers, IReadOnlyList<long> Steps, IReadOnlyList<IReadOnlyList<double>> Log10GradientNorms);

public sealed record Alert(long Step, string Kind, string Text, DateTimeOffset At);

/// <summary>Upper bounds (ms) of the per-worker shard-time histogram buckets; the last bucket is everything above.</summary>
public static class ShardHistogram
{
    public static IReadOnlyList<double> Bounds { get; } = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

    public static int Bucket(double milliseconds)
    {
        for (var i = 0; i < Bounds.Count; i++)
        {
            if (milliseconds <= Bounds[i]) return i;
        }
        return Bounds.Count;
    }
}
