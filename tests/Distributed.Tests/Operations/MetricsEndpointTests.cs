using System.Text.Json;
using System.Text.RegularExpressions;
using Distributed.Cli.Commands;
using Distributed.Observability;
using Distributed.Observability.Telemetry;
using Distributed.Tests.Cluster;
using Distributed.Tests.Support;
using Xunit.Abstractions;

namespace Distributed.Tests.Operations;

/// <summary>What /metrics, /api/status, the timeline and TensorBoard show of a real short run (see <see cref="OperationsRunFixture"/>).</summary>
public sealed class MetricsEndpointTests(OperationsRunFixture run, ITestOutputHelper output) : IClassFixture<OperationsRunFixture>
{
    private const int Steps = OperationsRunFixture.Steps;

    [Fact]
    public void Metrics_scraped_during_the_run_parse_as_prometheus_text_and_already_count_steps()
    {
        var metrics = PrometheusText.Parse(run.MidRunMetrics);

        var steps = metrics.Value("distributed_steps_total");
        Assert.InRange(steps, 3, Steps - 1);
        Assert.Equal(steps * OperationsRunFixture.GlobalBatch, metrics.Value("distributed_images_total"));
        Assert.Equal(2, metrics.Value("distributed_workers", ("state", "live")));
        Assert.True(metrics.Value("distributed_images_per_second") > 0);
        Assert.Equal("training", run.MidRunStatus.Run.Phase);
    }

    [Fact]
    public void Metrics_after_the_run_count_every_step_epoch_image_and_health_sample()
    {
        var metrics = PrometheusText.Parse(run.FinalMetrics);
        output.WriteLine(string.Join("\n", run.FinalMetrics.Split('\n')
            .Where(l => l.StartsWith("distributed_", StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal))));

        Assert.Equal("counter", metrics.Types["distributed_steps_total"]);
        Assert.Equal(Steps, metrics.Value("distributed_steps_total"));
        Assert.Equal(2, metrics.Value("distributed_epochs_total"));
        Assert.Equal(Steps * OperationsRunFixture.GlobalBatch, metrics.Value("distributed_images_total"));
        Assert.Equal(Steps / OperationsRunFixture.HealthEvery, metrics.Value("distributed_health_samples_total"));
        Assert.Equal(1, metrics.Value("distributed_epoch"));
    }

    [Fact]
    public void Step_time_is_a_seconds_histogram_split_into_every_phase_and_per_worker()
    {
        var metrics = PrometheusText.Parse(run.FinalMetrics);

        Assert.Equal("histogram", metrics.Types["distributed_step_duration_seconds"]);
        Assert.Equal(Steps, metrics.Value("distributed_step_duration_seconds_count"));
        var stepSeconds = metrics.Value("distributed_step_duration_seconds_sum");
        Assert.InRange(stepSeconds / Steps, 0.001, 30);
        double phases = 0;
        foreach (var phase in new[] { "compute", "transfer", "wait", "aggregation", "optimizer", "health", "other" })
        {
            Assert.Equal(Steps, metrics.Value("distributed_step_phase_duration_seconds_count", ("phase", phase)));
            phases += metrics.Value("distributed_step_phase_duration_seconds_sum", ("phase", phase));
        }
        // The phases split the step (mean per worker), so they add up to the step time.
        Assert.InRange(phases, stepSeconds * 0.98, stepSeconds * 1.02);
        Assert.True(metrics.Value("distributed_step_phase_duration_seconds_sum", ("phase", "compute")) > 0);
        Assert.True(metrics.Value("distributed_step_phase_duration_seconds_sum", ("phase", "health")) > 0);
        foreach (var worker in new[] { "worker-0", "worker-1" })
        {
            Assert.Equal(Steps, metrics.Value("distributed_worker_shard_duration_seconds_count", ("worker", worker)));
            Assert.InRange(metrics.Value("distributed_worker_straggler_score", ("worker", worker)), 0.2, 5);
        }
    }

    [Fact]
    public void Per_worker_shard_time_percentiles_speculative_copies_and_abandoned_shards_are_exported_and_on_the_status()
    {
        var metrics = PrometheusText.Parse(run.FinalMetrics);
        Assert.Equal("gauge", metrics.Types["distributed_worker_shard_compute_time_seconds"]);
        foreach (var worker in new[] { "worker-0", "worker-1" })
        {
            var quantiles = new[] { "0.5", "0.9", "0.99", "1" }
                .Select(q => metrics.Value("distributed_worker_shard_compute_time_seconds", ("worker", worker), ("quantile", q))).ToArray();
            Assert.True(quantiles[0] > 0, $"{worker}: p50 {quantiles[0]}");
            Assert.Equal(quantiles.Order(), quantiles);
            Assert.True(metrics.Value("distributed_worker_speculative_copies_total", ("worker", worker)) >= 0);
            Assert.True(metrics.Value("distributed_worker_speculative_wins_total", ("worker", worker)) >= 0);
            Assert.Equal(0, metrics.Value("distributed_worker_abandoned_shards_total", ("worker", worker)));
        }
        Assert.Equal(0, metrics.Value("distributed_ledger_samples_total", ("outcome", "skipped")));

        // /api/status carries the same per-worker figures for the dashboard's table.
        foreach (var worker in run.FinalStatus.Workers)
        {
            var times = Assert.IsType<Distributed.Protocol.ShardTimeSummary>(worker.ShardTimes);
            Assert.InRange(times.Count, 1, 64);
            Assert.Equal(times.Max, metrics.Value("distributed_worker_shard_compute_time_seconds", ("worker", worker.Name), ("quantile", "1")) * 1000, 6);
            Assert.Equal(metrics.Value("distributed_worker_speculative_copies_total", ("worker", worker.Name)), worker.SpeculativeCopies);
            Assert.Equal(0, worker.AbandonedShards);
        }
    }

    [Fact]
    public void Every_series_the_grafana_dashboard_queries_is_exported_by_a_real_run()
    {
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(
            BuildOutput.RepositoryRoot, "deploy", "grafana", "dashboards", "distributed-training.json")));
        var queried = Expressions(dashboard.RootElement)
            .SelectMany(expr => Regex.Matches(expr, "(distributed|dotnet|process)_[a-z_]+").Select(m => m.Value))
            .ToHashSet();
        // The checkpoint age exists once a checkpoint does, so the scrape after the checkpoint counts too.
        var exported = new[] { run.FinalMetrics, run.MetricsAfterCheckpoint }
            .SelectMany(text => PrometheusText.Parse(text).Samples.Select(s => s.Name)).ToHashSet();

        Assert.True(queried.Count >= 20, $"only {queried.Count} series found in the dashboard's queries");
        // The node's own figures (runtime and process instrumentation) are queried too, not only the training's.
        Assert.Contains(queried, name => name.StartsWith("dotnet_", StringComparison.Ordinal));
        Assert.Contains(queried, name => name.StartsWith("process_", StringComparison.Ordinal));
        Assert.All(queried, name => Assert.True(exported.Contains(name), $"the dashboard queries {name}, which /metrics does not export"));
    }

    private static IEnumerable<string> Expressions(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p =>
            p.Name == "expr" && p.Value.ValueKind == JsonValueKind.String ? [p.Value.GetString()!] : Expressions(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Expressions),
        _ => [],
    };

    [Fact]
    public void Training_figures_and_gradient_health_gauges_have_plausible_values()
    {
        var metrics = PrometheusText.Parse(run.FinalMetrics);

        Assert.InRange(metrics.Value("distributed_train_loss"), 1e-4, 10);
        Assert.InRange(metrics.Value("distributed_train_accuracy_ratio"), 0, 1);
        Assert.InRange(metrics.Value("distributed_test_accuracy_ratio"), 0, 1);
        Assert.InRange(metrics.Value("distributed_learning_rate"), 1e-6, 0.05);
        Assert.InRange(metrics.Value("distributed_gradient_norm"), 1e-6, 1e3);
        Assert.Equal(0, metrics.Value("distributed_workers", ("state", "joining")));
        Assert.Equal(0, metrics.Value("distributed_workers", ("state", "unreachable")));

        var layers = metrics.Series("distributed_layer_gradient_norm").ToList();
        Assert.Equal(8, layers.Count); // ResNet-8: the stem, six block convolutions and the classifier
        Assert.Contains(layers, l => l.Labels["layer"] == "conv1.weight");
        Assert.Contains(layers, l => l.Labels["layer"] == "fc.weight");
        Assert.All(layers, l => Assert.True(l.Value > 0 && double.IsFinite(l.Value), $"{l.Labels["layer"]}: {l.Value}"));
        Assert.All(metrics.Series("distributed_layer_update_ratio"), l => Assert.InRange(l.Value, 1e-9, 1));
        Assert.InRange(metrics.Value("distributed_gradient_first_last_ratio"), 1e-4, 1e4);
        Assert.InRange(metrics.Value("distributed_dead_relu_ratio"), 0, 1);
        Assert.InRange(metrics.Value("distributed_relu_coactivation_ratio"), 0.05, 0.6);
        Assert.Equal([1.0, 2.0, 3.0], metrics.Series("distributed_shattering_autocorrelation").Select(s => double.Parse(s.Labels["lag"])).Order());
        Assert.All(metrics.Series("distributed_shattering_autocorrelation"), s => Assert.InRange(s.Value, -1, 1));
        var overhead = metrics.Value("distributed_health_overhead_ratio");
        output.WriteLine($"health overhead at K={OperationsRunFixture.HealthEvery} on ResNet-8: {overhead:P2}");
        Assert.InRange(overhead, 1e-5, 0.9);
    }

    [Fact]
    public void Checkpoint_age_is_absent_until_a_checkpoint_is_written_and_then_counts_seconds()
    {
        Assert.Empty(PrometheusText.Parse(run.FinalMetrics).Series("distributed_checkpoint_age_seconds"));

        var age = PrometheusText.Parse(run.MetricsAfterCheckpoint).Value("distributed_checkpoint_age_seconds");

        Assert.InRange(age, 0, 60);
    }

    [Fact]
    public void Status_shows_both_workers_the_step_breakdown_and_gradient_health()
    {
        var status = run.FinalStatus;

        Assert.Equal("finished", status.Run.Phase);
        Assert.Equal(Steps, status.Run.Step);
        Assert.Equal(["worker-0", "worker-1"], status.Workers.Select(w => w.Name));
        Assert.All(status.Workers, w => Assert.Equal(Steps, w.Shards));
        Assert.All(status.Workers, w => Assert.Equal(Steps, w.Histogram.Sum()));
        // Membership is read while the run goes: once it ends its workers are stopped and leave the counts.
        Assert.Equal(new Membership(2, 0, 0, 0), run.MidRunStatus.Membership);
        Assert.True(status.Breakdown.Compute > 0);
        Assert.Equal(Steps, status.Series.Count);
        Assert.All(status.Series, point => Assert.NotNull(point.Breakdown));
        Assert.Equal(2, status.Epochs.Count);
        var health = Assert.IsType<HealthFigures>(status.Health);
        Assert.Equal(35, health.Step);
        Assert.Equal(Steps / OperationsRunFixture.HealthEvery, status.Heatmap.Steps.Count);
        Assert.All(status.Heatmap.Log10GradientNorms, column => Assert.Equal(status.Heatmap.Layers.Count, column.Count));
        Assert.Empty(run.Warnings);

        var table = StatusCommand.Render(status);
        output.WriteLine(table);
        Assert.Contains("worker-0", table);
        Assert.Contains("worker-1", table);
        Assert.Contains($"step {Steps}/{Steps}", table);
        Assert.Contains("gradient health at step 35", table);
    }

    [Fact]
    public void The_timeline_is_chrome_trace_json_with_compute_transfer_and_wait_spans_for_each_worker_and_step()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(run.TimelinePath));
        var events = document.RootElement.EnumerateArray().ToList();
        var spans = events.Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        var threads = events.Where(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "thread_name")
            .ToDictionary(e => e.GetProperty("tid").GetInt32(), e => e.GetProperty("args").GetProperty("name").GetString());

        Assert.Contains("worker-0", threads.Values);
        Assert.Contains("worker-1", threads.Values);
        foreach (var worker in new[] { "worker-0", "worker-1" })
        {
            var track = threads.Single(t => t.Value == worker).Key;
            var computeSteps = spans.Where(s => s.GetProperty("tid").GetInt32() == track && s.GetProperty("name").GetString() == "compute")
                .Select(s => s.GetProperty("args").GetProperty("step").GetInt64()).ToHashSet();
            Assert.Equal(Steps, computeSteps.Count);
            Assert.Contains(spans, s => s.GetProperty("tid").GetInt32() == track && s.GetProperty("cat").GetString() == "transfer");
            Assert.Contains(spans, s => s.GetProperty("tid").GetInt32() == track && s.GetProperty("name").GetString() == "health probe");
        }
        Assert.Contains(spans, s => s.GetProperty("name").GetString() == "wait for slowest");
        Assert.Equal(Steps, spans.Count(s => s.GetProperty("name").GetString()!.StartsWith("step ", StringComparison.Ordinal)));
        Assert.All(spans, s => Assert.True(s.GetProperty("dur").GetDouble() > 0 && s.GetProperty("ts").GetDouble() >= 0));
    }

    [Fact]
    public void TensorBoard_event_files_are_written_with_scalars_and_gradient_histograms()
    {
        var file = Assert.Single(Directory.GetFiles(run.TensorBoardDirectory, "events.out.tfevents.*"));
        var bytes = File.ReadAllBytes(file);
        var text = System.Text.Encoding.ASCII.GetString(bytes);

        Assert.True(bytes.Length > 10_000, $"only {bytes.Length} bytes");
        Assert.Contains("train/loss", text);
        Assert.Contains("gradient/conv1.weight", text);
        Assert.Contains("layer_gradient_norm/fc.weight", text);
    }
}
