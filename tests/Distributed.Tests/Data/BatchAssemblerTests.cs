using Distributed.Model.Data;

namespace Distributed.Tests.Data;

public sealed class BatchAssemblerTests
{
    // Non-square images, so a swapped height and width cannot pass.
    private const int Height = 6, Width = 7;

    private static readonly PixelStatistics s_grayNormalization = new([0.5f], [0.25f]);

    // What zero padding becomes after normalization: (0 - 0.5) / 0.25.
    private const float PaddingValue = -2f;

    [Fact]
    public void Without_augmentation_the_batch_is_pixel_over_255_minus_mean_over_std_exactly()
    {
        const int channels = 2;
        var pixels = TestFiles.RandomBytes(3 * channels * Height * Width, seed: 1);
        var dataset = new ImageDataset("rgb-ish", channels, Height, Width, 10, pixels, [4, 7, 9]);
        float[] mean = [0.3f, 0.6f], std = [0.2f, 0.5f];
        var assembler = new BatchAssembler(dataset, new PixelStatistics(mean, std), Augmentation.None, seed: 5);
        int[] indices = [2, 0, 2];
        var images = new float[indices.Length * dataset.SampleSize];
        var labels = new long[indices.Length];

        assembler.Fill(indices, epoch: 3, images, labels);

        Assert.Equal([9L, 4L, 9L], labels);
        for (int b = 0; b < indices.Length; b++)
        {
            for (int i = 0; i < dataset.SampleSize; i++)
            {
                int c = i / (Height * Width);
                byte p = pixels[indices[b] * dataset.SampleSize + i];
                Assert.Equal((p / 255f - mean[c]) / std[c], images[b * dataset.SampleSize + i]);
            }
        }
    }

    [Fact]
    public void Augmentation_of_a_sample_depends_on_seed_epoch_and_index_not_on_batch_position_or_assembler()
    {
        var dataset = NonZeroDataset(count: 20, seed: 2);
        // Two instances stand for two workers that each hold the dataset.
        var first = new BatchAssembler(dataset, s_grayNormalization, Augmentation.Standard, seed: 42);
        var second = new BatchAssembler(dataset, s_grayNormalization, Augmentation.Standard, seed: 42);

        var a = Fill(first, [5, 3, 17], epoch: 4);
        var b = Fill(second, [17, 9, 1, 5], epoch: 4);

        Assert.Equal(Sample(a, 0), Sample(b, 3));
        Assert.Equal(Sample(a, 2), Sample(b, 0));
    }

    [Fact]
    public void Different_epochs_and_different_seeds_give_different_augmentations_overall()
    {
        var dataset = NonZeroDataset(count: 40, seed: 3);
        int[] all = Enumerable.Range(0, dataset.Count).ToArray();
        var assembler = new BatchAssembler(dataset, s_grayNormalization, Augmentation.Standard, seed: 1);
        var otherSeed = new BatchAssembler(dataset, s_grayNormalization, Augmentation.Standard, seed: 2);

        var epoch0 = Fill(assembler, all, epoch: 0);
        var epoch1 = Fill(assembler, all, epoch: 1);
        var seed2 = Fill(otherSeed, all, epoch: 0);

        // 50 equally likely (offset, flip) draws: a sample keeps its draw with chance 1/50, so expect about 1 of 40.
        Assert.InRange(all.Count(i => !Sample(epoch0, i).SequenceEqual(Sample(epoch1, i))), 34, 40);
        Assert.InRange(all.Count(i => !Sample(epoch0, i).SequenceEqual(Sample(seed2, i))), 34, 40);
    }

    [Fact]
    public void Crop_and_flip_reproduce_torchvision_random_crop_with_zero_padding_then_horizontal_flip()
    {
        var dataset = NonZeroDataset(count: 400, seed: 4);
        var augmentation = Augmentation.Standard;
        var assembler = new BatchAssembler(dataset, s_grayNormalization, augmentation, seed: 7);
        int[] all = Enumerable.Range(0, dataset.Count).ToArray();

        var images = Fill(assembler, all, epoch: 9);

        var seen = new HashSet<(int Top, int Left, bool Flip)>();
        foreach (int i in all)
        {
            var matches = Candidates(augmentation.CropPadding, flips: true)
                .Where(c => Reference(dataset, i, augmentation.CropPadding, c).SequenceEqual(Sample(images, i)))
                .ToList();
            Assert.True(matches.Count == 1, $"sample {i} matches {matches.Count} crop/flip candidates, expected 1");
            seen.Add(matches[0]);
        }

        // Every one of the 5x5 crop origins and both flip states is drawn.
        Assert.Equal(50, seen.Count);
    }

    [Fact]
    public void Crop_without_flip_shifts_by_the_drawn_offset_and_fills_with_normalized_zero()
    {
        var dataset = NonZeroDataset(count: 100, seed: 5);
        var augmentation = new Augmentation(CropPadding: 3, HorizontalFlip: false);
        var assembler = new BatchAssembler(dataset, s_grayNormalization, augmentation, seed: 8);
        int[] all = Enumerable.Range(0, dataset.Count).ToArray();

        var images = Fill(assembler, all, epoch: 0);

        int shifted = 0;
        foreach (int i in all)
        {
            var sample = Sample(images, i);
            var (top, left, _) = Candidates(3, flips: false)
                .Single(c => Reference(dataset, i, 3, c).SequenceEqual(sample));
            int dy = Math.Abs(top - 3), dx = Math.Abs(left - 3);
            shifted += dy + dx > 0 ? 1 : 0;
            // Source pixels are never 0, so the padding is exactly the uncovered rows and columns.
            Assert.Equal(dy * Width + dx * Height - dy * dx, sample.Count(v => v == PaddingValue));
        }

        Assert.True(shifted > 90, $"only {shifted} of 100 samples were shifted");
    }

    [Fact]
    public void Flip_mirrors_each_row_exactly_and_about_half_the_samples_are_flipped()
    {
        var dataset = NonZeroDataset(count: 200, seed: 6);
        var assembler = new BatchAssembler(dataset, s_grayNormalization, new Augmentation(0, true), seed: 9);
        var plain = new BatchAssembler(dataset, s_grayNormalization, Augmentation.None, seed: 9);
        int[] all = Enumerable.Range(0, dataset.Count).ToArray();

        var images = Fill(assembler, all, epoch: 2);
        var originals = Fill(plain, all, epoch: 2);

        int flipped = 0;
        foreach (int i in all)
        {
            var original = Sample(originals, i);
            var mirrored = Enumerable.Range(0, Height)
                .SelectMany(y => original.Skip(y * Width).Take(Width).Reverse())
                .ToArray();
            var actual = Sample(images, i);
            if (actual.SequenceEqual(mirrored))
            {
                flipped++;
            }
            else
            {
                Assert.Equal(original, actual);
            }
        }

        Assert.InRange(flipped, 70, 130);
    }

    [Fact]
    public void Fill_allocates_nothing_on_the_training_path()
    {
        var dataset = NonZeroDataset(count: 64, seed: 7);
        var assembler = new BatchAssembler(dataset, s_grayNormalization, Augmentation.Standard, seed: 1);
        int[] indices = Enumerable.Range(0, 64).Reverse().ToArray();
        var images = new float[indices.Length * dataset.SampleSize];
        var labels = new long[indices.Length];
        assembler.Fill(indices, 0, images, labels);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int epoch = 1; epoch <= 10; epoch++)
        {
            assembler.Fill(indices, epoch, images, labels);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Fill_rejects_buffers_that_are_too_small_and_indices_outside_the_dataset()
    {
        var dataset = NonZeroDataset(count: 3, seed: 8);
        var assembler = new BatchAssembler(dataset, s_grayNormalization, Augmentation.None, seed: 1);
        int size = dataset.SampleSize;

        Assert.Equal("images", Assert.Throws<ArgumentException>(
            () => assembler.Fill([0, 1], 0, new float[2 * size - 1], new long[2])).ParamName);
        Assert.Equal("labels", Assert.Throws<ArgumentException>(
            () => assembler.Fill([0, 1], 0, new float[2 * size], new long[1])).ParamName);
        var outside = Assert.Throws<ArgumentOutOfRangeException>(
            () => assembler.Fill([0, 3], 0, new float[2 * size], new long[2]));
        Assert.Contains("batch position 1", outside.Message);
    }

    [Fact]
    public void Assembler_rejects_a_normalization_that_does_not_fit_the_dataset()
    {
        var dataset = NonZeroDataset(count: 1, seed: 9);

        Assert.Contains("1 channels", Assert.Throws<ArgumentException>(() =>
            new BatchAssembler(dataset, new PixelStatistics([0.5f, 0.5f], [1f, 1f]), Augmentation.None, 0)).Message);
        Assert.Contains("std 0", Assert.Throws<ArgumentException>(() =>
            new BatchAssembler(dataset, new PixelStatistics([0.5f], [0f]), Augmentation.None, 0)).Message);
    }

    // Pixels 1..255: zero only ever appears as padding, and random content makes every crop distinguishable.
    private static ImageDataset NonZeroDataset(int count, int seed)
    {
        var pixels = TestFiles.RandomBytes(count * Height * Width, seed, maxExclusive: 255);
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i]++;
        }

        return new ImageDataset("gray", 1, Height, Width, 10, pixels, new byte[count]);
    }

    private static float[] Fill(BatchAssembler assembler, int[] indices, int epoch)
    {
        var images = new float[indices.Length * assembler.Dataset.SampleSize];
        assembler.Fill(indices, epoch, images, new long[indices.Length]);
        return images;
    }

    private static float[] Sample(float[] images, int position) =>
        images.AsSpan(position * Height * Width, Height * Width).ToArray();

    private static IEnumerable<(int Top, int Left, bool Flip)> Candidates(int padding, bool flips) =>
        from top in Enumerable.Range(0, 2 * padding + 1)
        from left in Enumerable.Range(0, 2 * padding + 1)
        from flip in flips ? new[] { false, true } : [false]
        select (top, left, flip);

    // torchvision, literally: zero-pad by `padding`, crop Height x Width at (top, left), then mirror if flipped.
    private static float[] Reference(ImageDataset dataset, int index, int padding, (int Top, int Left, bool Flip) draw)
    {
        var source = dataset.Pixels.Span.Slice(index * dataset.SampleSize, dataset.SampleSize);
        var padded = new byte[Height + 2 * padding, Width + 2 * padding];
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < Width; x++)
            {
                padded[y + padding, x + padding] = source[y * Width + x];
            }
        }

        var result = new float[Height * Width];
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < Width; x++)
            {
                byte p = padded[draw.Top + y, draw.Left + x];
                result[y * Width + (draw.Flip ? Width - 1 - x : x)] = (p / 255f - 0.5f) / 0.25f;
            }
        }

        return result;
    }
}
