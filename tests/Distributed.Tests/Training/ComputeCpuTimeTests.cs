using System.Diagnostics;
using System.Text.Json;
using Distributed.Coordinator;
using Distributed.Model.Nets;
using Distributed.Model.Runtime;
using Distributed.Observability.Reporting;
using Distributed.Protocol;
using Distributed.Worker;

namespace Distributed.Tests.Training;

/// <summary>
/// The compute thread's CPU time per shard, next to its wall time, from the worker to metrics.jsonl: what tells a
/// slower computation from a thread that waited for a core.
/// </summary>
public sealed class ComputeCpuTimeTests
{
    [Fact]
    public void The_clock_counts_this_threads_work_and_not_its_sleep()
    {
        Assert.True(ThreadCpuTime.IsAvailable, "CI runs on Linux, where CLOCK_THREAD_CPUTIME_ID exists");
        var start = ThreadCpuTime.Milliseconds();
        Thread.Sleep(300);
        var slept = ThreadCpuTime.Milliseconds() - start;

        // Work until the clock shows 100 ms: on a crowded machine that takes longer than 100 ms of wall time, never less.
        start = ThreadCpuTime.Milliseconds();
        var spin = Stopwatch.StartNew();
        var x = 0.0;
        while (ThreadCpuTime.Milliseconds() - start < 100 && spin.Elapsed.TotalSeconds < 30)
        {
            for (var i = 0; i < 10_000; i++) x += Math.Sqrt(x + i);
        }
        var spun = ThreadCpuTime.Milliseconds() - start;

        Assert.True(slept < 50, $"300 ms asleep cost {slept:F1} ms of CPU");
        Assert.True(spun >= 100, $"30 s of spinning counted only {spun:F1} ms of CPU (x = {x})");
        Assert.True(spin.Elapsed.TotalMilliseconds >= spun - 5, $"{spun:F1} ms of CPU in {spin.Elapsed.TotalMilliseconds:F1} ms of wall time on one thread");
    }

    [Fact]
    public void A_shard_reports_its_compute_threads_cpu_time_within_its_wall_time()
    {
        TorchRuntime.UseThreadsOnThisThread(1);
        var model = new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10);
        using var trainer = new ShardTrainer(new ConfigureWorker(model, new DataSpec("synthetic", null, 0, false, TrainLimit: 64, TestLimit: 16), 3));
        var request = new WorkRequest(1, WorkKind.Train, 0, 0, 0, Enumerable.Range(0, 32).ToArray(), RunModel.Build(model, 3).InitialState);
        Assert.True(trainer.TryLoadWeights(request));

        var result = trainer.Run(request);

        Assert.True(result.ComputeCpuMilliseconds > 0, $"cpu {result.ComputeCpuMilliseconds} ms");
        // One libtorch thread: the work ran on this thread, so its CPU time fits in the shard's wall time.
        Assert.True(result.ComputeCpuMilliseconds <= result.ComputeMilliseconds + 5,
            $"cpu {result.ComputeCpuMilliseconds:F1} ms against {result.ComputeMilliseconds:F1} ms of wall time");
    }

    [Fact]
    public void A_step_reports_the_mean_compute_and_cpu_time_of_its_applied_shards_and_no_cpu_time_if_one_shard_lacks_it()
    {
        var book = new RoundBook<string>();
        var round = book.Open(WorkKind.Train, 0, 7, [[1, 2], [3, 4]], 0);
        round.Shards[0].Complete(Result(round.Id, 0, compute: 100, cpu: 80), "a", "worker-a", 1);
        round.Shards[1].Complete(Result(round.Id, 1, compute: 140, cpu: 60), "b", "worker-b", 1);
        Assert.Equal((120.0, 70.0), StepReport.MeanCompute(round));

        var older = book.Open(WorkKind.Train, 0, 8, [[1, 2], [3, 4]], 0);
        older.Shards[0].Complete(Result(older.Id, 0, compute: 100, cpu: 80), "a", "worker-a", 1);
        older.Shards[1].Complete(Result(older.Id, 1, compute: 140, cpu: 0), "b", "worker-b", 1);
        Assert.Equal((120.0, 0.0), StepReport.MeanCompute(older));
    }

    [Fact]
    public void Metrics_file_writes_compute_and_cpu_time_per_step_and_null_where_unmeasured()
    {
        var directory = Directory.CreateTempSubdirectory("cpu-metrics-").FullName;
        try
        {
            using (var metrics = new MetricsFile(directory))
            {
                metrics.OnStep(new StepCompleted(0, 0, 128, 2.3, 0.1, 0.01, 1.5, 130, 2, 469, ComputeMilliseconds: 120.5, ComputeCpuMilliseconds: 118.25));
                metrics.OnStep(new StepCompleted(1, 0, 128, 2.2, 0.1, 0.01, 1.5, 131, 2, 469, ComputeMilliseconds: 121));
            }
            var rows = File.ReadAllLines(Path.Combine(directory, MetricsFile.FileName)).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
            Assert.Equal(120.5, rows[0].GetProperty("compute_ms").GetDouble());
            Assert.Equal(118.25, rows[0].GetProperty("compute_cpu_ms").GetDouble());
            Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("compute_cpu_ms").ValueKind);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    private static WorkCompleted Result(long round, int shard, double compute, double cpu) =>
        new(round, WorkKind.Train, shard, 4, 2, 1.0, 1, compute, [0f, 0f, 0f], ComputeCpuMilliseconds: cpu);
}
