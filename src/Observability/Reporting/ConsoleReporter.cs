using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Protocol;

namespace Distributed.Observability.Reporting;

/// <summary>
/// A progress bar per epoch (redrawn in place on a terminal, every tenth of an epoch otherwise) and a table
/// row per epoch; with <paramref name="showSkipped"/> (backup workers) the row also says how many of the epoch's
/// samples were skipped in abandoned shards.
/// </summary>
public sealed class ConsoleReporter(TextWriter output, bool interactive, int totalEpochs, bool showSkipped = false) : ITrainingObserver
{
    private const int BarWidth = 30;
    private readonly object _gate = new();
    private bool _headerWritten;
    private bool _barVisible;
    private int _lastReportedTenth = -1;
    private double _lossAverage = double.NaN;
    private double _accuracyAverage = double.NaN;
    private double _imagesPerSecond;

    public static string TableHeader =>
        $"{"epoch",5} | {"train loss",10} | {"train acc",9} | {"test loss",9} | {"test acc",8} | {"img/s",7} | {"time (s)",8} | {"RSS MB",7} | {"heap MB",7}";

    public void OnStep(StepCompleted step)
    {
        lock (_gate)
        {
            _lossAverage = double.IsNaN(_lossAverage) ? step.Loss : 0.95 * _lossAverage + 0.05 * step.Loss;
            _accuracyAverage = double.IsNaN(_accuracyAverage) ? step.Accuracy : 0.95 * _accuracyAverage + 0.05 * step.Accuracy;
            var rate = step.Samples / Math.Max(1e-6, step.StepMilliseconds / 1000);
            _imagesPerSecond = _imagesPerSecond == 0 ? rate : 0.9 * _imagesPerSecond + 0.1 * rate;
            var done = (int)(step.Step % step.StepsPerEpoch) + 1;
            var fraction = (double)done / step.StepsPerEpoch;
            var line = $"epoch {step.Epoch + 1}/{totalEpochs} [{new string('#', (int)(fraction * BarWidth)).PadRight(BarWidth, '.')}] " +
                $"{done}/{step.StepsPerEpoch} loss {_lossAverage:F3} acc {_accuracyAverage:P1} lr {step.LearningRate:G3} " +
                $"{_imagesPerSecond:F0} img/s {step.Workers} workers";
            if (interactive)
            {
                output.Write("\r" + line.PadRight(Console.IsOutputRedirected ? 0 : Math.Max(0, SafeWidth() - 1)));
                _barVisible = true;
            }
            else
            {
                var tenth = (int)(fraction * 10);
                if (tenth != _lastReportedTenth && tenth > 0)
                {
                    _lastReportedTenth = tenth;
                    output.WriteLine(line);
                }
            }
        }
    }

    public void OnEpoch(EpochCompleted epoch)
    {
        lock (_gate)
        {
            ClearBar();
            if (!_headerWritten)
            {
                output.WriteLine(TableHeader + (showSkipped ? $" | {"skipped",7}" : ""));
                _headerWritten = true;
            }
            // An epoch skipped by --evaluate-every has no test figures (NaN): a dash, not "NaN".
            var testLoss = double.IsFinite(epoch.TestLoss) ? epoch.TestLoss.ToString("F4") : "–";
            var testAccuracy = double.IsFinite(epoch.TestAccuracy) ? epoch.TestAccuracy.ToString("P2") : "–";
            output.WriteLine($"{epoch.Epoch + 1,5} | {epoch.TrainLoss,10:F4} | {epoch.TrainAccuracy,9:P2} | {testLoss,9} | " +
                $"{testAccuracy,8} | {epoch.ImagesPerSecond,7:F0} | {epoch.Seconds,8:F1} | " +
                $"{ProcessMemory.ResidentBytes() / 1e6,7:F0} | {ProcessMemory.LiveManagedBytes() / 1e6,7:F0}" +
                (showSkipped ? $" | {epoch.Samples?.Skipped ?? 0,7}" : ""));
            _lastReportedTenth = -1;
        }
    }

    public void OnNotice(TrainingNotice notice)
    {
        lock (_gate)
        {
            ClearBar();
            output.WriteLine($"  note: {notice.Text}");
        }
    }

    private void ClearBar()
    {
        if (!_barVisible) return;
        output.WriteLine();
        _barVisible = false;
    }

    private static int SafeWidth()
    {
        try { return Console.WindowWidth > 0 ? Console.WindowWidth : 120; }
        catch (IOException) { return 120; }
    }
}
