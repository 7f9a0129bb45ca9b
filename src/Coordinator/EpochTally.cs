namespace Distributed.Coordinator;

/// <summary>The training loss, accuracy and samples of one epoch so far, and when it started (for img/s).</summary>
public sealed class EpochTally(int epoch, double startedSeconds)
{
    public int Epoch { get; } = epoch;
    public double StartedSeconds { get; } = startedSeconds;
    public double TrainSeconds { get; set; }
    public long Samples { get; private set; }
    public double LossSum { get; private set; }
    public long Correct { get; private set; }

    public double MeanLoss => LossSum / Math.Max(1, Samples);
    public double Accuracy => (double)Correct / Math.Max(1, Samples);
    public double ImagesPerSecond => TrainSeconds > 0 ? Samples / TrainSeconds : 0;

    public void Add(int samples, double lossSum, int correct)
    {
        Samples += samples;
        LossSum += lossSum;
        Correct += correct;
    }
}
