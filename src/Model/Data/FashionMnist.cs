namespace Distributed.Model.Data;

/// <summary>
/// Fashion-MNIST (Zalando): 60,000 training and 10,000 test 28x28 grayscale images of 10 clothing classes,
/// in the four IDX files of the original distribution, each gzip-compressed or raw.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    public const int ImageSize = 28;

    public const int ClassCount = 10;

    public static DatasetPair Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var train = LoadSplit(directory, "fashion-mnist/train", "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
        var test = LoadSplit(directory, "fashion-mnist/test", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
        return new DatasetPair(train, test);
    }

    private static ImageDataset LoadSplit(string directory, string name, string imagesFile, string labelsFile)
    {
        string imagesPath = Locate(directory, imagesFile);
        string labelsPath = Locate(directory, labelsFile);

        var (imageDimensions, pixels) = IdxReader.ReadUnsignedBytes(imagesPath, expectedDimensions: 3);
        var (labelDimensions, labels) = IdxReader.ReadUnsignedBytes(labelsPath, expectedDimensions: 1);

        if (imageDimensions[1] != ImageSize || imageDimensions[2] != ImageSize)
        {
            throw new DatasetFormatException(imagesPath,
                $"wrong image dimensions {imageDimensions[1]}x{imageDimensions[2]}, "
                + $"Fashion-MNIST images are {ImageSize}x{ImageSize}");
        }

        int imageCount = imageDimensions[0];
        int labelCount = labelDimensions[0];
        if (imageCount != labelCount)
        {
            throw new DatasetFormatException(labelsPath,
                $"holds {labelCount} labels but {imagesPath} holds {imageCount} images; the counts must match");
        }

        if (imageCount == 0)
        {
            throw new DatasetFormatException(imagesPath, "holds no images (the header's image count is 0)");
        }

        int bad = labels.AsSpan().IndexOfAnyInRange((byte)ClassCount, byte.MaxValue);
        if (bad >= 0)
        {
            throw new DatasetFormatException(labelsPath,
                $"label {labels[bad]} of sample {bad} is out of range 0..{ClassCount - 1}");
        }

        return new ImageDataset(name, 1, ImageSize, ImageSize, ClassCount, pixels, labels, validateLabels: false);
    }

    // Prefer the compressed name: it is what the original distribution ships, and a stale raw copy beside it
    // is more likely to be a leftover than the other way round.
    private static string Locate(string directory, string baseName)
    {
        string compressed = Path.Combine(directory, baseName + ".gz");
        if (File.Exists(compressed))
        {
            return compressed;
        }

        string raw = Path.Combine(directory, baseName);
        if (File.Exists(raw))
        {
            return raw;
        }

        string where = Directory.Exists(directory)
            ? $"directory {directory}"
            : $"directory {directory} (which does not exist)";
        throw new DatasetFormatException(compressed,
            $"Fashion-MNIST file not found: searched {where} for {baseName}.gz and {baseName}");
    }
}
