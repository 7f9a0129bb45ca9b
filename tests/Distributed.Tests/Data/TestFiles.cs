using System.Buffers.Binary;
using System.IO.Compression;

namespace Distributed.Tests.Data;

/// <summary>Builds the small IDX and CIFAR files the reader tests feed to the loaders.</summary>
internal static class TestFiles
{
    public const uint ImagesMagic = 0x00000803;
    public const uint LabelsMagic = 0x00000801;

    public static byte[] Idx(uint magic, int[] dimensions, byte[] data)
    {
        var bytes = new byte[4 + 4 * dimensions.Length + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, magic);
        for (int i = 0; i < dimensions.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + 4 * i), (uint)dimensions[i]);
        }

        data.CopyTo(bytes, 4 + 4 * dimensions.Length);
        return bytes;
    }

    public static byte[] Gzip(byte[] content)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest))
        {
            gzip.Write(content);
        }

        return memory.ToArray();
    }

    /// <summary>Writes <paramref name="content"/>, gzip-compressed when asked, and returns the path.</summary>
    public static string Write(string path, byte[] content, bool compressed)
    {
        File.WriteAllBytes(path, compressed ? Gzip(content) : content);
        return path;
    }

    /// <summary>The file name the Fashion-MNIST loader looks for first, matching how the file is written.</summary>
    public static string FashionName(string baseName, bool compressed) => compressed ? baseName + ".gz" : baseName;

    public static byte[] RandomBytes(int count, int seed, int maxExclusive = 256)
    {
        var random = new Random(seed);
        var bytes = new byte[count];
        for (int i = 0; i < count; i++)
        {
            bytes[i] = (byte)random.Next(maxExclusive);
        }

        return bytes;
    }

    /// <summary>One split of a tiny Fashion-MNIST: random pixels and labels in the right IDX files.</summary>
    public sealed record FashionSplit(byte[] Pixels, byte[] Labels);

    public static (FashionSplit Train, FashionSplit Test) WriteFashionMnist(string directory, bool compressed,
        int trainCount = 5, int testCount = 3)
    {
        var train = new FashionSplit(RandomBytes(trainCount * 28 * 28, 1), RandomBytes(trainCount, 2, 10));
        var test = new FashionSplit(RandomBytes(testCount * 28 * 28, 3), RandomBytes(testCount, 4, 10));
        WriteFashionSplit(directory, "train", train, compressed);
        WriteFashionSplit(directory, "t10k", test, compressed);
        return (train, test);
    }

    private static void WriteFashionSplit(string directory, string prefix, FashionSplit split, bool compressed)
    {
        Write(Path.Combine(directory, FashionName($"{prefix}-images-idx3-ubyte", compressed)),
            Idx(ImagesMagic, [split.Labels.Length, 28, 28], split.Pixels), compressed);
        Write(Path.Combine(directory, FashionName($"{prefix}-labels-idx1-ubyte", compressed)),
            Idx(LabelsMagic, [split.Labels.Length], split.Labels), compressed);
    }

    /// <summary>CIFAR-10 binary records: label byte then 3072 pixel bytes each.</summary>
    public static byte[] CifarBatch(byte[] labels, byte[] pixels)
    {
        var bytes = new byte[labels.Length * 3073];
        for (int i = 0; i < labels.Length; i++)
        {
            bytes[i * 3073] = labels[i];
            pixels.AsSpan(i * 3072, 3072).CopyTo(bytes.AsSpan(i * 3073 + 1));
        }

        return bytes;
    }
}
