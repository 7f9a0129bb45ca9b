namespace Distributed.Model.Data;

/// <summary>
/// Immutable in-memory image classification dataset: uint8 pixels, CHW order per sample, samples back to back.
/// </summary>
public sealed class ImageDataset
{
    /// <summary>
    /// Copies <paramref name="pixels"/> and <paramref name="labels"/>, so later changes by the caller cannot leak in.
    /// </summary>
    public ImageDataset(string name, int channels, int height, int width, int classCount, byte[] pixels, byte[] labels)
        : this(name, channels, height, width, classCount,
            (pixels ?? throw new ArgumentNullException(nameof(pixels))).ToArray(),
            (labels ?? throw new ArgumentNullException(nameof(labels))).ToArray(),
            validateLabels: true)
    {
    }

    // Loaders hand over arrays nobody else holds, so copying them (47 MB for Fashion-MNIST) would be waste.
    // Labels are validated by the loaders themselves, which can name the file and sample in the error.
    internal ImageDataset(string name, int channels, int height, int width, int classCount,
        ReadOnlyMemory<byte> pixels, ReadOnlyMemory<byte> labels, bool validateLabels)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        // Labels are stored as bytes.
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(classCount, 256);

        long sampleSize = (long)channels * height * width;
        if (sampleSize > Array.MaxLength)
        {
            throw new ArgumentException($"A sample of {channels}x{height}x{width} bytes is too large.", nameof(width));
        }

        if (pixels.Length != labels.Length * sampleSize)
        {
            throw new ArgumentException(
                $"Dataset '{name}' has {labels.Length} labels, so it needs {labels.Length} x {channels}x{height}x{width} = "
                + $"{labels.Length * sampleSize} pixel bytes, but {pixels.Length} were given.",
                nameof(pixels));
        }

        if (validateLabels)
        {
            var span = labels.Span;
            for (int i = 0; i < span.Length; i++)
            {
                if (span[i] >= classCount)
                {
                    throw new ArgumentException(
                        $"Dataset '{name}': label {span[i]} of sample {i} is out of range 0..{classCount - 1}.",
                        nameof(labels));
                }
            }
        }

        Name = name;
        Channels = channels;
        Height = height;
        Width = width;
        ClassCount = classCount;
        SampleSize = (int)sampleSize;
        Pixels = pixels;
        Labels = labels;
    }

    /// <summary>For example "fashion-mnist/train".</summary>
    public string Name { get; }

    public int Count => Labels.Length;

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    public int ClassCount { get; }

    /// <summary>Count*Channels*Height*Width bytes.</summary>
    public ReadOnlyMemory<byte> Pixels { get; }

    /// <summary>Count bytes, each below <see cref="ClassCount"/>.</summary>
    public ReadOnlyMemory<byte> Labels { get; }

    /// <summary>Channels*Height*Width.</summary>
    public int SampleSize { get; }

    /// <summary>The first <paramref name="count"/> samples, sharing this dataset's memory.</summary>
    public ImageDataset Take(int count)
    {
        if (count < 1 || count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"Can take 1..{Count} samples from dataset '{Name}', not {count}.");
        }

        return count == Count
            ? this
            : new ImageDataset($"{Name}[:{count}]", Channels, Height, Width, ClassCount,
                Pixels[..(count * SampleSize)], Labels[..count], validateLabels: false);
    }

    public override string ToString() => $"{Name} ({Count} x {Channels}x{Height}x{Width}, {ClassCount} classes)";
}
