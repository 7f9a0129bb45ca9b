using System.Diagnostics.Metrics;
using Distributed.Observability.Telemetry;
using Distributed.Protocol;

namespace Distributed.Tests.Operations;

/// <summary>The per-worker speculative-copy counters read the coordinator's latest counts at collection time.</summary>
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

    private static TrainingStatus Status(params WorkerStatus[] workers) => new("training", 5, 0, 100, workers, 1.0, 100);

    private static Dictionary<(string Instrument, string Worker), long> Collect(string meterName)
    {
        var seen = new Dictionary<(string, string), long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == meterName && instrument.Name.Contains("speculative", StringComparison.Ordinal)) l.EnableMeasurementEvents(instrument);
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
