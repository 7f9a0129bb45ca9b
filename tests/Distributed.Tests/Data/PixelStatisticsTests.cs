using Distributed.Model.Data;

namespace Distributed.Tests.Data;

public sealed class PixelStatisticsTests
{
    [Fact]
    public void Normalization_of_a_constant_dataset_has_that_constant_as_mean_and_unit_std()
    {
        var pixels = new byte[4 * 2 * 3 * 3];
        pixels.AsSpan().Fill(51);
        var dataset = new ImageDataset("constant", 2, 3, 3, 2, pixels, [0, 1, 0, 1]);

        var normalization = PixelStatistics.FromDataset(dataset);

        Assert.Equal([0.2f, 0.2f], normalization.Mean);
        // Unit rather than zero std: dividing by zero would turn a useless channel into NaNs.
        Assert.Equal([1f, 1f], normalization.Std);
        var images = new float[4 * dataset.SampleSize];
        new BatchAssembler(dataset, normalization, Augmentation.None, seed: 0).Fill([0, 1, 2, 3], 0, images, new long[4]);
        Assert.All(images, value => Assert.Equal(0f, value, 1e-6f));
    }

    [Fact]
    public void Normalization_matches_a_direct_per_channel_computation()
    {
        const int count = 50, channels = 3, plane = 5 * 4;
        var pixels = TestFiles.RandomBytes(count * channels * plane, seed: 11);
        // Give each channel a different distribution so a mixed-up channel would show.
        for (int i = 0; i < pixels.Length; i++)
        {
            int channel = i / plane % channels;
            pixels[i] = (byte)(pixels[i] / (channel + 1));
        }

        var dataset = new ImageDataset("random", channels, 5, 4, 10, pixels, new byte[count]);

        var normalization = PixelStatistics.FromDataset(dataset);

        for (int c = 0; c < channels; c++)
        {
            var values = Enumerable.Range(0, count)
                .SelectMany(sample => pixels.Skip(sample * channels * plane + c * plane).Take(plane))
                .Select(p => p / 255.0)
                .ToArray();
            double mean = values.Average();
            double std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
            Assert.Equal(mean, normalization.Mean[c], 1e-6);
            Assert.Equal(std, normalization.Std[c], 1e-6);
        }
    }
}
