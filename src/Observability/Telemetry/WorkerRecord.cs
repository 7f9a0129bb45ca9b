using Distributed.Protocol;

namespace Distributed.Observability.Telemetry;

/// <summary>What the telemetry keeps of one worker: its state and shard counts from the coordinator, its shard times from the step timings.</summary>
internal sealed class WorkerRecord
{
    public WorkerState State { get; set; } = WorkerState.Live;
    /// <summary>Training shards delivered, as the coordinator counts them.</summary>
    public long Shards { get; set; }
    /// <summary>Shards whose time this telemetry saw (the run's steps since it started watching).</summary>
    public long TimedShards { get; set; }
    public double TotalMilliseconds { get; set; }
    public double LastMilliseconds { get; set; } = double.NaN;
    public double StragglerScore { get; set; } = double.NaN;
    public double SlowestFraction { get; set; } = double.NaN;
    public int MissedDeadlines { get; set; }
    public long[] Histogram { get; } = new long[ShardHistogram.Bounds.Count + 1];
    /// <summary>The coordinator's latest status of this worker: its cumulative counters and recent shard times.</summary>
    public WorkerStatus? Status { get; set; }

    public WorkerFigures Figures(string name) => new(name, State, Shards, TimedShards == 0 ? null : TotalMilliseconds / TimedShards,
        Known(LastMilliseconds), Known(StragglerScore), Known(SlowestFraction), MissedDeadlines, Histogram.ToArray(),
        Status?.SpeculativeCopies ?? 0, Status?.SpeculativeWins ?? 0, Status?.ShardTimes, Status?.AbandonedShards ?? 0, Status?.Staleness);

    /// <summary>NaN here means "not measured yet" (null).</summary>
    private static double? Known(double value) => double.IsNaN(value) ? null : value;
}
