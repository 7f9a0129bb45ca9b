using System.Diagnostics.Metrics;
using Distributed.Observability.Telemetry;
using Distributed.Protocol;

namespace Distributed.Tests.Operations;

/// <summary>Bounded staleness in /metrics: per worker the mean and largest τ of its applied gradients, and each step's largest τ.</summary>
public sealed class StalenessMetricsTests
{
    private static readonly RunDescription Run = new("resnet-8", "synthetic", 3, 48, 1, 10, null);

    [Fact]
    public void Per_worker_staleness_comes_from_the_latest_status_and_each_steps_largest_staleness_is_recorded()
    {
        var meterName = $"staleness-test-{Guid.NewGuid():N}";
        using var metrics = new TrainingMetrics(new RunTelemetry(Run, []), meterName);
        var gauges = new Dictionary<(string Instrument, string Worker), double>();
        var steps = new List<long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == meterName && instrument.Name.Contains("staleness", StringComparison.Ordinal)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "worker") gauges[(instrument.Name, (string)tag.Value!)] = value;
            }
        });
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => steps.Add(value));
        listener.Start();

        metrics.OnStatus(Status(new WorkerStatus("worker-0", WorkerState.Live, 3, 5, 0, Staleness: new StalenessTally(3, 2, 1))));
        metrics.OnStatus(Status(
            new WorkerStatus("worker-0", WorkerState.Live, 4, 5, 0, Staleness: new StalenessTally(4, 6, 4)),
            new WorkerStatus("worker-1", WorkerState.Live, 2, 15, 0, Staleness: new StalenessTally(2, 0, 0))));
        metrics.OnStep(new StepCompleted(7, 0, 48, 2.0, 0.1, 0.05, 1.0, 10, 3, 5, MaxStaleness: 3));
        listener.RecordObservableInstruments();

        Assert.Equal(1.5, gauges[("distributed_worker_staleness_mean", "worker-0")]);
        Assert.Equal(4, gauges[("distributed_worker_staleness_max", "worker-0")]);
        Assert.Equal(0, gauges[("distributed_worker_staleness_mean", "worker-1")]);
        Assert.Equal([3L], steps);
    }

    private static TrainingStatus Status(params WorkerStatus[] workers) => new("training", 5, 0, 100, workers, 1.0, 100);
}
