using Distributed.Cluster;
using Distributed.Cluster.Transport;
using Distributed.Observability;
using Distributed.Observability.Reporting;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Model.GradientHealth;
using Distributed.Model.Nets;

namespace Distributed.Observability.Telemetry;

/// <summary>
/// Everything that watches one run, started together: the live state, its metrics, the dashboard server, and the
/// optional timeline and TensorBoard files. <see cref="Observer"/> goes next to the console and metrics file.
/// </summary>
public sealed class RunObservability : IAsyncDisposable
{
    private readonly List<IDisposable> _disposables = [];

    private RunObservability(RunTelemetry telemetry, TrainingMetrics metrics, ITrainingObserver observer)
    {
        Telemetry = telemetry;
        Metrics = metrics;
        Observer = observer;
    }

    public RunTelemetry Telemetry { get; }
    public TrainingMetrics Metrics { get; }
    public ITrainingObserver Observer { get; }
    public DashboardServer? Dashboard { get; private set; }

    /// <summary>Why the dashboard is not where it was asked to be (the default port was taken), or null.</summary>
    public string? DashboardNote { get; private set; }
    public TraceTimeline? Timeline { get; private set; }
    public TensorBoardLog? TensorBoard { get; private set; }

    /// <param name="warn">Where gradient-health warnings go besides the dashboard (the console, the metrics file).</param>
    /// <param name="meterName">Distinct per run when several runs share a process (tests).</param>
    /// <param name="model">The run's model, when the caller already built it (otherwise it is built here).</param>
    /// <param name="tensorChannel">The coordinator node's tensor channel in cluster mode: its byte counters go on /metrics.</param>
    public static async Task<RunObservability> StartAsync(ObservabilitySettings settings, TrainingJob job, Action<string>? warn,
        string meterName = TrainingMetrics.DefaultMeterName, CancellationToken cancellationToken = default, RunModel? model = null,
        TensorChannel? tensorChannel = null)
    {
        var layers = LiveLayer.WeightLayers((model ?? RunModel.Build(job.Model, job.Plan.Seed)).Layout);
        var output = job.OutputDirectory;
        var telemetry = new RunTelemetry(RunDescription.Of(job), layers, warn,
            output is null ? null : Path.Combine(output, Training.Checkpoints.Checkpoint.FileName));
        var metrics = new TrainingMetrics(telemetry, meterName);
        if (tensorChannel is not null) metrics.WatchTensorChannel(tensorChannel, ClusterRoles.Coordinator);
        var observers = new List<ITrainingObserver> { telemetry, metrics };
        TraceTimeline? timeline = null;
        TensorBoardLog? tensorBoard = null;
        if (settings.Timeline && output is not null) observers.Add(timeline = new TraceTimeline(output));
        if (settings.TensorBoard && output is not null) observers.Add(tensorBoard = new TensorBoardLog(output, layers));
        var run = new RunObservability(telemetry, metrics, new CompositeObserver(observers.ToArray())) { Timeline = timeline, TensorBoard = tensorBoard };
        run._disposables.Add(metrics);
        if (timeline is not null) run._disposables.Add(timeline);
        if (tensorBoard is not null) run._disposables.Add(tensorBoard);
        if (settings.Dashboard)
        {
            try
            {
                run.Dashboard = await DashboardServer.StartAsync(settings.DashboardAddress, settings.DashboardPort, telemetry, meterName, cancellationToken);
            }
            catch (ArgumentException busy) when (!settings.DashboardPortChosen && settings.DashboardPort != 0)
            {
                // Several runs on one machine (or a test suite) must not fail over the default port: take a free one and say so.
                run.DashboardNote = $"port {settings.DashboardPort} is taken ({busy.InnerException?.Message ?? busy.Message}); using a free port";
                try
                {
                    run.Dashboard = await DashboardServer.StartAsync(settings.DashboardAddress, 0, telemetry, meterName, cancellationToken);
                }
                catch
                {
                    await run.DisposeAsync();
                    throw;
                }
            }
            catch
            {
                await run.DisposeAsync();
                throw;
            }
        }
        return run;
    }

    /// <summary>One line on what gradient health cost this run, for the end of the console output.</summary>
    public string? HealthSummary(int healthEvery) => Telemetry.HealthOverhead is { } overhead
        ? $"Gradient health every {healthEvery} steps took {overhead:P2} of step time."
        : null;

    public async ValueTask DisposeAsync()
    {
        if (Dashboard is not null) await Dashboard.DisposeAsync();
        foreach (var disposable in _disposables) disposable.Dispose();
        _disposables.Clear();
    }
}
