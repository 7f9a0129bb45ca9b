using System.Text.Json;
using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Observability.Reporting;

/// <summary>metrics.jsonl: one JSON object per step, epoch and notice, flushed as it goes so a crashed run keeps its history.</summary>
public sealed class MetricsFile : ITrainingObserver, IDisposable
{
    public const string FileName = "metrics.jsonl";
    private readonly StreamWriter _writer;
    private readonly object _gate = new();

    /// <param name="append">Keep the history already there (a resumed run).</param>
    public MetricsFile(string directory, bool append = false)
    {
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory, FileName);
        _writer = new StreamWriter(Path, append) { AutoFlush = true };
    }

    public string Path { get; }

    public void OnStep(StepCompleted step) => Write(new
    {
        type = "step", step = step.Step, epoch = step.Epoch, samples = step.Samples, loss = step.Loss, accuracy = step.Accuracy,
        learning_rate = step.LearningRate, gradient_norm = step.GradientNorm, step_ms = step.StepMilliseconds, workers = step.Workers,
        skipped_samples = step.SkippedSamples, staleness = step.MaxStaleness,
        compute_ms = Positive(step.ComputeMilliseconds), compute_cpu_ms = Positive(step.ComputeCpuMilliseconds), at = DateTimeOffset.UtcNow,
    });

    public void OnEpoch(EpochCompleted epoch) => Write(new
    {
        type = "epoch", epoch = epoch.Epoch, step = epoch.Step, train_loss = epoch.TrainLoss, train_accuracy = epoch.TrainAccuracy,
        test_loss = Finite(epoch.TestLoss), test_accuracy = Finite(epoch.TestAccuracy), images_per_second = epoch.ImagesPerSecond, seconds = epoch.Seconds,
        resident_bytes = ProcessMemory.ResidentBytes(), managed_heap_bytes = ProcessMemory.LiveManagedBytes(),
        samples_applied = epoch.Samples?.Applied, samples_duplicated = epoch.Samples?.Duplicated, samples_dropped = epoch.Samples?.Dropped,
        samples_skipped = epoch.Samples?.Skipped, at = DateTimeOffset.UtcNow,
    });

    public void OnNotice(TrainingNotice notice) => Write(new { type = "notice", text = notice.Text, at = DateTimeOffset.UtcNow });

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>0 means "not measured" (an older worker, another OS): written as null, not as a time.</summary>
    private static double? Positive(double value) => value > 0 && double.IsFinite(value) ? value : null;

    private void Write(object row)
    {
        lock (_gate) _writer.WriteLine(JsonSerializer.Serialize(row));
    }

    public void Dispose() => _writer.Dispose();
}
