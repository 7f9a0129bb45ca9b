using System.Text;
using System.Text.Json;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Observability.Telemetry;

/// <summary>
/// timeline.json: every training step as Chrome trace events (open in chrome://tracing or ui.perfetto.dev), like
/// Horovod's timeline. One track per worker shows, per step, its shard's transfer in, compute, health probe,
/// transfer out, and the wait for the slowest shard; the coordinator's track shows the step, averaging and the
/// optimizer. Times are the coordinator's clock. The worker measures compute and health itself; the rest of a
/// shard's round trip is transfer (messaging, serialization, tensor channel, queueing), drawn as two halves
/// around the worker's work because only their sum is measured. The file is a JSON array written as it goes, one
/// step per flush, and closed at the end; the trace viewers also read an unclosed one (a run that crashed).
/// </summary>
public sealed class TraceTimeline : ITrainingObserver, IDisposable
{
    public const string FileName = "timeline.json";
    private const int CoordinatorTrack = 0;

    private readonly object _gate = new();
    private readonly StreamWriter _writer;
    private readonly Dictionary<string, int> _tracks = new(StringComparer.Ordinal);
    private bool _closed;

    public TraceTimeline(string directory)
    {
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory, FileName);
        _writer = new StreamWriter(Path, append: false, new UTF8Encoding(false));
        _writer.Write("[\n");
        Write(Metadata("process_name", 0, new { name = "training run" }));
        Write(Metadata("thread_name", CoordinatorTrack, new { name = "coordinator" }));
        Write(Metadata("thread_sort_index", CoordinatorTrack, new { sort_index = -1 }));
        _writer.Flush();
    }

    public string Path { get; }

    public void OnTimings(StepTimings timings)
    {
        lock (_gate)
        {
            if (_closed) return;
            var start = timings.StartedMilliseconds;
            var arguments = new { step = timings.Step, epoch = timings.Epoch };
            Span("coordinator", $"step {timings.Step}", CoordinatorTrack, start, timings.AppliedMilliseconds, arguments);
            var serverStart = start + timings.ShardsDoneMilliseconds;
            Span("parameter-server", "aggregation", CoordinatorTrack, serverStart, timings.AggregationMilliseconds, arguments);
            Span("parameter-server", "optimizer", CoordinatorTrack, serverStart + timings.AggregationMilliseconds, timings.OptimizerMilliseconds, arguments);
            foreach (var shard in timings.Shards)
            {
                var track = TrackOf(shard.Worker);
                var shardArguments = new { step = timings.Step, shard = shard.Shard, samples = shard.Samples, attempts = shard.Attempts };
                var transfer = Math.Max(0, shard.ReceivedMilliseconds - shard.SentMilliseconds - shard.ComputeMilliseconds - shard.HealthMilliseconds);
                var at = start + shard.SentMilliseconds;
                Span("transfer", "transfer in", track, at, transfer / 2, shardArguments);
                at += transfer / 2;
                // The compute span's CPU time: well below its length means the thread waited for a core.
                Span("compute", "compute", track, at, shard.ComputeMilliseconds,
                    new { step = timings.Step, shard = shard.Shard, samples = shard.Samples, attempts = shard.Attempts, cpu_ms = Math.Round(shard.CpuMilliseconds, 2) });
                at += shard.ComputeMilliseconds;
                if (shard.HealthMilliseconds > 0)
                {
                    Span("health", "health probe", track, at, shard.HealthMilliseconds, shardArguments);
                    at += shard.HealthMilliseconds;
                }
                Span("transfer", "transfer out", track, at, start + shard.ReceivedMilliseconds - at, shardArguments);
                Span("wait", "wait for slowest", track, start + shard.ReceivedMilliseconds, timings.ShardsDoneMilliseconds - shard.ReceivedMilliseconds, shardArguments);
            }
            _writer.Flush();
        }
    }

    private int TrackOf(string worker)
    {
        if (_tracks.TryGetValue(worker, out var track)) return track;
        track = _tracks.Count + 1;
        _tracks[worker] = track;
        Write(Metadata("thread_name", track, new { name = worker }));
        Write(Metadata("thread_sort_index", track, new { sort_index = track }));
        return track;
    }

    /// <summary>A complete ("X") event; times in milliseconds, written in the format's microseconds.</summary>
    private void Span(string category, string name, int track, double startMilliseconds, double durationMilliseconds, object arguments)
    {
        if (durationMilliseconds <= 0) return;
        Write(new Dictionary<string, object>
        {
            ["name"] = name, ["cat"] = category, ["ph"] = "X", ["pid"] = 1, ["tid"] = track,
            ["ts"] = Math.Round(startMilliseconds * 1000, 1), ["dur"] = Math.Round(durationMilliseconds * 1000, 1), ["args"] = arguments,
        });
    }

    private static Dictionary<string, object> Metadata(string name, int track, object arguments) =>
        new() { ["name"] = name, ["ph"] = "M", ["pid"] = 1, ["tid"] = track, ["args"] = arguments };

    private void Write(object traceEvent)
    {
        _writer.Write(JsonSerializer.Serialize(traceEvent));
        _writer.Write(",\n");
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_closed) return;
            _closed = true;
            // A last event without a trailing comma makes the array valid JSON.
            _writer.Write(JsonSerializer.Serialize(Metadata("process_labels", CoordinatorTrack, new { labels = "distributed" })));
            _writer.Write("\n]\n");
            _writer.Dispose();
        }
    }
}
