namespace Distributed.Model.Data;

/// <summary>
/// CIFAR-10, binary version: 50,000 training images in data_batch_1.bin..data_batch_5.bin and 10,000 test images
/// in test_batch.bin, 32x32 RGB, 10 classes. Each record is 1 label byte then 3072 pixel bytes: the 1024 red,
/// 1024 green and 1024 blue values of a row-major 32x32 image, which is already the CHW layout we keep.
/// </summary>
public static class Cifar10
{
    public const int ImageSize = 32;

    public const int Channels = 3;

    public const int ClassCount = 10;

    public const int PixelBytesPerRecord = Channels * ImageSize * ImageSize;

    public const int RecordSize = 1 + PixelBytesPerRecord;

    /// <summary>The folder the official tarball unpacks to.</summary>
    public const string ArchiveFolder = "cifar-10-batches-bin";

    private const string TestFile = "test_batch.bin";

    private static readonly string[] s_trainFiles = Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").ToArray();

    /// <summary>
    /// Loads from <paramref name="directory"/> itself or, when it holds no batch files, from its
    /// <c>cifar-10-batches-bin/</c> subfolder. Any non-empty subset of the five training batches is accepted,
    /// so a quick run can ship just one.
    /// </summary>
    public static DatasetPair Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var (root, searched) = ChooseRoot(directory);

        var trainPaths = s_trainFiles.Select(f => Path.Combine(root, f)).Where(File.Exists).ToArray();
        if (trainPaths.Length == 0)
        {
            throw new DatasetFormatException(Path.Combine(root, s_trainFiles[0]),
                $"CIFAR-10 training batches not found: searched {searched} for data_batch_1.bin..data_batch_5.bin");
        }

        string testPath = Path.Combine(root, TestFile);
        if (!File.Exists(testPath))
        {
            throw new DatasetFormatException(testPath, $"CIFAR-10 file not found: searched {searched} for {TestFile}");
        }

        return new DatasetPair(ReadBatches("cifar10/train", trainPaths), ReadBatches("cifar10/test", [testPath]));
    }

    private static (string Root, string Searched) ChooseRoot(string directory)
    {
        if (HoldsAnyBatch(directory))
        {
            return (directory, directory);
        }

        string nested = Path.Combine(directory, ArchiveFolder);
        string searched = $"{Describe(directory)} and {Describe(nested)}";
        return (Directory.Exists(nested) ? nested : directory, searched);
    }

    private static bool HoldsAnyBatch(string directory) =>
        File.Exists(Path.Combine(directory, TestFile)) || s_trainFiles.Any(f => File.Exists(Path.Combine(directory, f)));

    private static string Describe(string directory) =>
        Directory.Exists(directory) ? directory : $"{directory} (which does not exist)";

    private static ImageDataset ReadBatches(string name, string[] paths)
    {
        var contents = new byte[paths.Length][];
        long records = 0;
        for (int i = 0; i < paths.Length; i++)
        {
            contents[i] = ReadBatch(paths[i]);
            records += contents[i].Length / RecordSize;
        }

        var pixels = GC.AllocateUninitializedArray<byte>(checked((int)(records * PixelBytesPerRecord)));
        var labels = new byte[records];
        int sample = 0;
        foreach (var content in contents)
        {
            for (int offset = 0; offset < content.Length; offset += RecordSize, sample++)
            {
                labels[sample] = content[offset];
                content.AsSpan(offset + 1, PixelBytesPerRecord).CopyTo(pixels.AsSpan(sample * PixelBytesPerRecord));
            }
        }

        return new ImageDataset(name, Channels, ImageSize, ImageSize, ClassCount, pixels, labels, validateLabels: false);
    }

    private static byte[] ReadBatch(string path)
    {
        using var source = DatasetSource.Open(path);
        var content = source.ReadAll();
        if (content.Length == 0)
        {
            throw source.Fail($"file is empty{source.SizeQualifier}");
        }

        if (content.Length % RecordSize != 0)
        {
            throw source.Fail(
                $"size {content.Length} bytes{source.SizeQualifier} is not a multiple of {RecordSize} "
                + $"(1 label byte + {PixelBytesPerRecord} pixel bytes per record); the file is truncated or not CIFAR-10");
        }

        for (int record = 0; record < content.Length / RecordSize; record++)
        {
            byte label = content[record * RecordSize];
            if (label >= ClassCount)
            {
                throw source.Fail($"label {label} of sample {record} is out of range 0..{ClassCount - 1}");
            }
        }

        return content;
    }
}
