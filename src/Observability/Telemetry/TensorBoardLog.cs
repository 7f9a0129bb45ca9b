using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Model.GradientHealth;
using Distributed.Protocol;
using TorchSharp;
using TorchSharp.Modules;

namespace Distributed.Observability.Telemetry;

/// <summary>
/// TensorBoard event files (TorchSharp's SummaryWriter) under the output directory's tensorboard/ folder:
/// per-step scalars (loss, accuracy, learning rate, gradient norm, throughput, step phases), per-epoch
/// evaluation, and at each health step per-layer gradient norms, update ratios and gradient histograms.
/// View with `tensorboard --logdir OUTPUT/tensorboard`.
/// </summary>
public sealed class TensorBoardLog : ITrainingObserver, IDisposable
{
    public const string FolderName = "tensorboard";
    private readonly object _gate = new();
    private readonly SummaryWriter _writer;
    private readonly IReadOnlyList<LiveLayer> _layers;

    public TensorBoardLog(string outputDirectory, IReadOnlyList<LiveLayer> layers)
    {
        Directory = Path.Combine(outputDirectory, FolderName);
        System.IO.Directory.CreateDirectory(Directory);
        _writer = torch.utils.tensorboard.SummaryWriter(Directory, createRunName: false);
        _layers = layers;
    }

    public string Directory { get; }

    public void OnStep(StepCompleted step)
    {
        var at = checked((int)step.Step);
        lock (_gate)
        {
            _writer.add_scalar("train/loss", (float)step.Loss, at);
            _writer.add_scalar("train/accuracy", (float)step.Accuracy, at);
            _writer.add_scalar("train/learning_rate", (float)step.LearningRate, at);
            _writer.add_scalar("train/gradient_norm", (float)step.GradientNorm, at);
            _writer.add_scalar("speed/images_per_second", (float)(step.Samples / Math.Max(1e-6, step.StepMilliseconds / 1000)), at);
            _writer.add_scalar("speed/step_ms", (float)step.StepMilliseconds, at);
        }
    }

    public void OnTimings(StepTimings timings)
    {
        var breakdown = RunTelemetry.Breakdown(timings);
        var at = checked((int)timings.Step);
        lock (_gate)
        {
            _writer.add_scalar("step_phase_ms/compute", (float)breakdown.Compute, at);
            _writer.add_scalar("step_phase_ms/transfer", (float)breakdown.Transfer, at);
            _writer.add_scalar("step_phase_ms/wait", (float)breakdown.Wait, at);
            _writer.add_scalar("step_phase_ms/aggregation", (float)breakdown.Aggregation, at);
            _writer.add_scalar("step_phase_ms/optimizer", (float)breakdown.Optimizer, at);
            _writer.add_scalar("step_phase_ms/health", (float)breakdown.Health, at);
        }
    }

    public void OnEpoch(EpochCompleted epoch)
    {
        var at = checked((int)epoch.Step);
        lock (_gate)
        {
            _writer.add_scalar("epoch/train_loss", (float)epoch.TrainLoss, at);
            _writer.add_scalar("epoch/train_accuracy", (float)epoch.TrainAccuracy, at);
            if (double.IsFinite(epoch.TestAccuracy)) _writer.add_scalar("epoch/test_accuracy", (float)epoch.TestAccuracy, at);
            if (double.IsFinite(epoch.TestLoss)) _writer.add_scalar("epoch/test_loss", (float)epoch.TestLoss, at);
            _writer.add_scalar("epoch/images_per_second", (float)epoch.ImagesPerSecond, at);
        }
    }

    public void OnHealth(HealthSample health)
    {
        var at = checked((int)health.Step);
        var statistics = LiveLayerStatistics.Compute(_layers, health.Gradient, health.WeightsBefore, health.WeightsAfter);
        lock (_gate)
        {
            if (double.IsFinite(statistics.FirstToLastGradientRatio))
                _writer.add_scalar("health/first_last_gradient_ratio", (float)statistics.FirstToLastGradientRatio, at);
            foreach (var layer in statistics.Layers)
            {
                _writer.add_scalar($"layer_gradient_norm/{layer.Layer}", (float)layer.GradientNorm, at);
                if (double.IsFinite(layer.UpdateRatio)) _writer.add_scalar($"layer_update_ratio/{layer.Layer}", (float)layer.UpdateRatio, at);
            }
            foreach (var layer in _layers)
            {
                using var values = torch.tensor(health.Gradient.AsSpan(layer.Offset, layer.Length).ToArray());
                if (!values.isfinite().all().item<bool>()) continue;
                _writer.add_histogram($"gradient/{layer.Name}", values, at);
            }
            var shards = health.Shards.Where(s => s.ShatteringAutocorrelation.Length > 0).ToList();
            if (shards.Count > 0)
                _writer.add_scalar("health/shattering_lag1", (float)shards.Average(s => s.ShatteringAutocorrelation[0]), at);
            var layers = health.Shards.SelectMany(s => s.Layers).ToList();
            if (layers.Count > 0)
            {
                _writer.add_scalar("health/dead_relu_fraction", (float)layers.Average(l => l.DeadFraction), at);
                _writer.add_scalar("health/coactivation", (float)layers.Average(l => l.CoActivation), at);
            }
        }
    }

    public void Dispose()
    {
        // SummaryWriter writes each event as it is added; nothing is buffered to flush.
    }
}
