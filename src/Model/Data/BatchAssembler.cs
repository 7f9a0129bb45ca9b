namespace Distributed.Model.Data;

/// <summary>
/// Turns sample indices into a normalized NCHW float batch with int64 labels, augmenting on the way.
/// The augmentation of a sample is a pure function of (seed, epoch, sample index): not of its position in the
/// batch nor of which worker asks, so any worker reproduces any sample exactly and a run is replayable
/// however the data is sharded. Thread-safe: <see cref="Fill"/> only reads shared state.
/// </summary>
public sealed class BatchAssembler
{
    private readonly int _seed;
    private readonly int _cropPadding;
    private readonly bool _flip;

    // (p/255 - mean)/std for every byte value p, per channel: one load per pixel on the hot path.
    private readonly float[] _lookup;

    public BatchAssembler(ImageDataset dataset, PixelStatistics normalization, Augmentation augmentation, int seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(normalization);
        ArgumentNullException.ThrowIfNull(augmentation);
        // Augmentation validates in its constructor, but a `with` expression skips that.
        ArgumentOutOfRangeException.ThrowIfNegative(augmentation.CropPadding);
        if (normalization.Mean.Length != dataset.Channels || normalization.Std.Length != dataset.Channels)
        {
            throw new ArgumentException(
                $"Normalization has {normalization.Mean.Length} means and {normalization.Std.Length} stds, "
                + $"but dataset '{dataset.Name}' has {dataset.Channels} channels.", nameof(normalization));
        }

        _lookup = new float[dataset.Channels * 256];
        for (int c = 0; c < dataset.Channels; c++)
        {
            float mean = normalization.Mean[c], std = normalization.Std[c];
            if (!float.IsFinite(mean) || !float.IsFinite(std) || std <= 0)
            {
                throw new ArgumentException(
                    $"Channel {c} has mean {mean} and std {std}; the mean must be finite and the std finite and positive.",
                    nameof(normalization));
            }

            for (int p = 0; p < 256; p++)
            {
                _lookup[c * 256 + p] = (p / 255f - mean) / std;
            }
        }

        Dataset = dataset;
        _seed = seed;
        _cropPadding = augmentation.CropPadding;
        _flip = augmentation.HorizontalFlip;
    }

    public ImageDataset Dataset { get; }

    /// <summary>
    /// Writes sample <c>indices[b]</c> to <c>images[b*SampleSize ..]</c> (CHW floats) and its label to
    /// <c>labels[b]</c>. <paramref name="epoch"/> selects the augmentation draw. Allocates nothing.
    /// </summary>
    public void Fill(ReadOnlySpan<int> indices, int epoch, Span<float> images, Span<long> labels)
    {
        int sampleSize = Dataset.SampleSize;
        if (images.Length < (long)indices.Length * sampleSize)
        {
            throw new ArgumentException(
                $"{indices.Length} samples of {sampleSize} floats need {(long)indices.Length * sampleSize} floats, "
                + $"the image buffer holds {images.Length}.", nameof(images));
        }

        if (labels.Length < indices.Length)
        {
            throw new ArgumentException(
                $"{indices.Length} samples need {indices.Length} labels, the label buffer holds {labels.Length}.",
                nameof(labels));
        }

        var pixels = Dataset.Pixels.Span;
        var datasetLabels = Dataset.Labels.Span;
        for (int b = 0; b < indices.Length; b++)
        {
            int index = indices[b];
            if ((uint)index >= (uint)datasetLabels.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), index,
                    $"Sample index at batch position {b} is outside dataset '{Dataset.Name}' "
                    + $"of {datasetLabels.Length} samples.");
            }

            labels[b] = datasetLabels[index];
            var source = pixels.Slice(index * sampleSize, sampleSize);
            var target = images.Slice(b * sampleSize, sampleSize);
            if (_cropPadding == 0 && !_flip)
            {
                Normalize(source, target);
                continue;
            }

            ulong draw = StatelessHash.Hash(_seed, epoch, index);
            int window = 2 * _cropPadding + 1;
            int dy = StatelessHash.Below((uint)(draw >> 32), window) - _cropPadding;
            int dx = StatelessHash.Below((uint)draw, window) - _cropPadding;
            bool flip = _flip && (StatelessHash.Mix(draw) & 1) == 1;
            CropAndFlip(source, target, dy, dx, flip);
        }
    }

    private void Normalize(ReadOnlySpan<byte> source, Span<float> target)
    {
        int plane = Dataset.Height * Dataset.Width;
        for (int c = 0; c < Dataset.Channels; c++)
        {
            var lookup = _lookup.AsSpan(c * 256, 256);
            var from = source.Slice(c * plane, plane);
            var to = target.Slice(c * plane, plane);
            for (int i = 0; i < from.Length; i++)
            {
                to[i] = lookup[from[i]];
            }
        }
    }

    // Output (y, x) reads source (y + dy, x + dx), or (y + dy, W-1-x + dx) when flipped: torchvision's
    // RandomCrop(padding) then RandomHorizontalFlip. Reads outside the image are padding, raw value 0.
    private void CropAndFlip(ReadOnlySpan<byte> source, Span<float> target, int dy, int dx, bool flip)
    {
        int height = Dataset.Height, width = Dataset.Width, plane = height * width;

        // Columns whose source column lies inside the image; the rest are padding.
        int first = flip ? Math.Max(0, dx) : Math.Max(0, -dx);
        int end = Math.Max(first, flip ? Math.Min(width, width + dx) : Math.Min(width, width - dx));

        for (int c = 0; c < Dataset.Channels; c++)
        {
            var lookup = _lookup.AsSpan(c * 256, 256);
            float padding = lookup[0];
            var from = source.Slice(c * plane, plane);
            var to = target.Slice(c * plane, plane);
            for (int y = 0; y < height; y++)
            {
                var row = to.Slice(y * width, width);
                int sy = y + dy;
                if ((uint)sy >= (uint)height)
                {
                    row.Fill(padding);
                    continue;
                }

                var sourceRow = from.Slice(sy * width, width);
                row[..first].Fill(padding);
                row[end..].Fill(padding);
                if (flip)
                {
                    int mirror = width - 1 + dx;
                    for (int x = first; x < end; x++)
                    {
                        row[x] = lookup[sourceRow[mirror - x]];
                    }
                }
                else
                {
                    for (int x = first; x < end; x++)
                    {
                        row[x] = lookup[sourceRow[x + dx]];
                    }
                }
            }
        }
    }
}
