using System.Diagnostics.Metrics;
using Distributed.Observability.Telemetry;
using Distributed.Protocol;

namespace Distributed.Tests.Operations;

/// <summary>The per-worker counters and shard-time gauges read the coordinator's latest status at collection time.</summary>
public sealed class SpeculationMetricsTests
{
    private static readonly RunDescription Run = new("resnet-8", "synthetic", 3, 48, 1, 10, null);

    [Fact]
    public void Speculative_copies_started_and_won_are_counted_per_worker_from_the_latest_status()
    {
        var meterName = $"speculation-test-{Guid.NewGuid():N}";
        using var metrics = new TrainingMetrics(new RunTelemetry(Run, []), meterName);
        metrics.OnStatus(Status(new WorkerStatus("worker-0", WorkerState.Live, 10, 5, 0, SpeculativeCopies: 1, SpeculativeWins: 0)));
        metrics.OnStatus(Status(
            new WorkerStatus("worker-0", WorkerState.Live, 12, 5, 0, SpeculativeCopies: 4, SpeculativeWins: 3),
            new WorkerStatus("worker-1", WorkerState.Live, 9, 15, 0)));

        var seen = Collect(meterName);

        Assert.Equal(4, seen[("distributed_worker_speculative_copies", "worker-0")]);
        Assert.Equal(3, seen[("distributed_worker_speculative_wins", "worker-0")]);
        Assert.Equal(0, seen[("distributed_worker_speculative_copies", "worker-1")]);
        Assert.Equal(0, seen[("distributed_worker_speculative_wins", "worker-1")]);
    }

    [Fact]
    public void Abandoned_shards_and_shard_time_percentiles_are_reported_per_worker_from_the_latest_status()
    {
        var meterName = $"speculation-test-{Guid.NewGuid():N}";
        using var metrics = new TrainingMetrics(new RunTelemetry(Run, []), meterName);
        metrics.OnStatus(Status(
            new WorkerStatus("worker-0", WorkerState.Live, 12, 5, 0, ShardTimes: new ShardTimeSummary(12, 40, 50, 60, 70)),
            new WorkerStatus("worker-1", WorkerState.Live, 3, 15, 0, ShardTimes: new ShardTimeSummary(9, 200, 300, 400, 500), AbandonedShards: 7),
            new WorkerStatus("worker-2", WorkerState.Joining, 0, 0, 0)));

        var seen = Collect(meterName);
        Assert.Equal(0, seen[("distributed_worker_abandoned_shards", "worker-0")]);
        Assert.Equal(7, seen[("distributed_worker_abandoned_shards", "worker-1")]);

        var quantiles = CollectQuantiles(meterName);
        Assert.Equal(0.04, quantiles[("worker-0", "0.5")], 9);
        Assert.Equal(0.3, quantiles[("worker-1", "0.9")], 9);
        Assert.Equal(0.4, quantiles[("worker-1", "0.99")], 9);
        Assert.Equal(0.5, quantiles[("worker-1", "1")], 9);
        // A worker with no shard answered yet has no percentiles, not zeros.
        Assert.DoesNotContain(quantiles.Keys, k => k.Worker == "worker-2");
    }

    private static Dictionary<(string Worker, string Quantile), double> CollectQuantiles(string meterName)
    {
        var seen = new Dictionary<(string, string), double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == meterName && instrument.Name == "distributed_worker_shard_compute_time") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? worker = null, quantile = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "worker") worker = (string)tag.Value!;
                if (tag.Key == "quantile") quantile = (string)tag.Value!;
            }
            seen[(worker!, quantile!)] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    private static TrainingStatus Status(params WorkerStatus[] workers) => new("training", 5, 0, 100, workers, 1.0, 100);

    private static Dictionary<(string Instrument, string Worker), long> Collect(string meterName)
    {
        var seen = new Dictionary<(string, string), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == meterName && instrument.Name.StartsWith("distributed_worker_", StringComparison.Ordinal) && instrument is not ObservableGauge<double>)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "worker") seen[(instrument.Name, (string)tag.Value!)] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }
}
