using System.Net;
using Akka.Actor;
using Distributed.Training.Checkpoints;
using Distributed.Cli.Commands;
using Distributed.Observability;
using Distributed.Observability.Telemetry;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;
using Distributed.Tests.Support;
using Distributed.Model.Nets;
using Distributed.Training.Workers;

namespace Distributed.Tests.Operations;

/// <summary>
/// One short real run (ResNet-8, synthetic data, two in-process workers, every message serialized) with every
/// operations feature on: the dashboard and /metrics on a free port, gradient health every 5 steps, the timeline
/// and TensorBoard files. It scrapes /metrics and /api/status while the run goes and after it, then writes a
/// checkpoint and scrapes again; the tests inspect what was captured. Speculative copies are off, so each worker's
/// share of the shards is known.
/// </summary>
public sealed class OperationsRunFixture : IAsyncLifetime
{
    public const int Steps = 40;
    public const int GlobalBatch = 32;
    public const int HealthEvery = 5;

    public string OutputDirectory { get; } = Path.Combine(Path.GetTempPath(), $"distributed-ops-{Guid.NewGuid():N}");
    public string MidRunMetrics { get; private set; } = "";
    public string FinalMetrics { get; private set; } = "";
    public string MetricsAfterCheckpoint { get; private set; } = "";
    public TelemetrySnapshot MidRunStatus { get; private set; } = null!;
    public TelemetrySnapshot FinalStatus { get; private set; } = null!;
    public TrainingOutcome Outcome { get; private set; } = null!;
    public RecordingObserver Recorded { get; } = new();
    public string TimelinePath { get; private set; } = "";
    public string TensorBoardDirectory { get; private set; } = "";
    public List<string> Warnings { get; } = [];

    public TrainingJob Job { get; } = new(
        new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10),
        new DataSpec("synthetic", null, 0, false, TrainLimit: Steps / 2 * GlobalBatch, TestLimit: 64),
        new TrainingPlan(Epochs: 2, GlobalBatch: GlobalBatch, Seed: 4, new LearningRateSchedule(0.05, ScheduleKind.Linear, 0.5),
            MinimumWorkers: 2, ShardTimeout: TimeSpan.FromMinutes(2), HealthEvery: HealthEvery)
        {
            // The tests count each worker's shards (one per step each); on a loaded machine a speculative copy
            // of a hiccuping shard would credit it to the other worker. Speculation has its own tests.
            Speculate = false,
        },
        SgdSettings.Default, Workers: 2, ThreadsPerWorker: 1, OutputDirectory: null);

    public async Task InitializeAsync()
    {
        var job = Job with { OutputDirectory = OutputDirectory };
        var settings = new ObservabilitySettings(HealthEvery, Dashboard: true, IPAddress.Loopback, DashboardPort: 0, Timeline: true, TensorBoard: true);
        using var system = ActorSystem.Create("operations", AkkaTestConfig.WithProtocolSerialization());
        var observability = await RunObservability.StartAsync(settings, job, text => { lock (Warnings) Warnings.Add(text); },
            meterName: $"Distributed.Training.Test.{Guid.NewGuid():N}");
        try
        {
            var dashboard = observability.Dashboard!;
            using var http = new HttpClient { BaseAddress = dashboard.Url, Timeout = TimeSpan.FromSeconds(30) };
            var run = TrainingRun.RunAsync(system, job, new Observability.Reporting.CompositeObserver(Recorded, observability.Observer),
                InProcessWorkers.Of(job), CancellationToken.None);

            // While it runs: wait for a few steps, then scrape.
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (true)
            {
                var text = await http.GetStringAsync("metrics");
                var steps = PrometheusText.Parse(text).Series("distributed_steps_total").Sum(s => s.Value);
                if (steps >= 3 && !run.IsCompleted)
                {
                    MidRunMetrics = text;
                    MidRunStatus = await StatusCommand.FetchAsync(dashboard.Url, TimeSpan.FromSeconds(30));
                    break;
                }
                if (run.IsCompleted || DateTime.UtcNow > deadline)
                    throw new InvalidOperationException($"no mid-run scrape: {steps} steps seen, run completed: {run.IsCompleted}");
                await Task.Delay(100);
            }

            Outcome = await run;
            if (!Outcome.Succeeded) throw new InvalidOperationException($"the run failed: {Outcome.Failed!.Reason}");
            observability.Telemetry.Finish("finished");
            FinalMetrics = await http.GetStringAsync("metrics");
            FinalStatus = await StatusCommand.FetchAsync(dashboard.Url, TimeSpan.FromSeconds(30));
            var parameterCount = RunModel.Build(job.Model, job.Plan.Seed).ParameterCount;
            Checkpoint.From(job, Outcome.Parameters!, parameterCount).Write(OutputDirectory);
            MetricsAfterCheckpoint = await http.GetStringAsync("metrics");
            TimelinePath = observability.Timeline!.Path;
            TensorBoardDirectory = observability.TensorBoard!.Directory;
        }
        finally
        {
            await observability.DisposeAsync();
            await system.Terminate();
        }
    }

    public Task DisposeAsync()
    {
        try { Directory.Delete(OutputDirectory, recursive: true); }
        catch (IOException) { }
        return Task.CompletedTask;
    }
}
