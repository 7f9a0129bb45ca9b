namespace Distributed.Model.Data;

/// <summary>Per-channel mean and standard deviation in [0,1] pixel units (pixel/255).</summary>
public sealed record PixelStatistics(float[] Mean, float[] Std)
{
    public float[] Mean { get; init; } = Mean ?? throw new ArgumentNullException(nameof(Mean));

    public float[] Std { get; init; } = Std ?? throw new ArgumentNullException(nameof(Std));

    /// <summary>
    /// Population mean and standard deviation over every pixel of <paramref name="dataset"/> (pass the training
    /// set: test statistics must not leak into training). A constant channel gets std 1 rather than 0, so it is
    /// centred to zero instead of becoming NaN.
    /// </summary>
    public static PixelStatistics FromDataset(ImageDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        int channels = dataset.Channels;
        int plane = dataset.Height * dataset.Width;

        // Byte histograms make the sums exact integers: no rounding drift over 47 million pixels.
        var histogram = new long[channels * 256];
        var pixels = dataset.Pixels.Span;
        for (int sample = 0; sample < dataset.Count; sample++)
        {
            var sampleSpan = pixels.Slice(sample * dataset.SampleSize, dataset.SampleSize);
            for (int c = 0; c < channels; c++)
            {
                var counts = histogram.AsSpan(c * 256, 256);
                foreach (byte p in sampleSpan.Slice(c * plane, plane))
                {
                    counts[p]++;
                }
            }
        }

        var mean = new float[channels];
        var std = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            var counts = histogram.AsSpan(c * 256, 256);
            Int128 n = 0, sum = 0, sumOfSquares = 0;
            int distinctValues = 0;
            for (int v = 0; v < 256; v++)
            {
                n += counts[v];
                sum += (Int128)counts[v] * v;
                sumOfSquares += (Int128)counts[v] * v * v;
                distinctValues += counts[v] > 0 ? 1 : 0;
            }

            if (n == 0)
            {
                throw new ArgumentException(
                    $"Dataset '{dataset.Name}' has no pixels to compute statistics from.", nameof(dataset));
            }

            // n²·variance = n·Σv² − (Σv)², exact in 128-bit integers.
            double variance = (double)(n * sumOfSquares - sum * sum) / ((double)n * (double)n);
            mean[c] = (float)((double)sum / (double)n / 255.0);
            std[c] = distinctValues == 1 ? 1f : (float)(Math.Sqrt(variance) / 255.0);
        }

        return new PixelStatistics(mean, std);
    }

    public override string ToString() =>
        $"PixelStatistics(Mean = [{string.Join(", ", Mean)}], Std = [{string.Join(", ", Std)}])";
}
