using System.Security.Cryptography;

namespace Distributed.Model.Data;

/// <summary>
/// Identifies the data a run trained on, so `--resume` can refuse other data under the same name and options: the
/// sample counts and a SHA-256 over the shapes and 64 evenly spaced samples (pixels and labels) of each split. Cheap
/// (a few hundred kilobytes hashed), and any other file, order, limit or preprocessing changes it.
/// </summary>
public sealed record DatasetFingerprint(string Hash, int TrainCount, int TestCount)
{
    private const int SamplesPerSplit = 64;

    public static DatasetFingerprint Of(ImageDataset train, ImageDataset test)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var split in new[] { train, test })
        {
            Span<int> shape = [split.Count, split.Channels, split.Height, split.Width, split.ClassCount];
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(shape));
            var pixels = split.Pixels.Span;
            var labels = split.Labels.Span;
            var picks = Math.Min(SamplesPerSplit, split.Count);
            for (var k = 0; k < picks; k++)
            {
                var index = (int)((long)k * split.Count / picks);
                hash.AppendData(pixels.Slice(index * split.SampleSize, split.SampleSize));
                hash.AppendData(labels.Slice(index, 1));
            }
        }
        return new DatasetFingerprint(Convert.ToHexStringLower(hash.GetHashAndReset())[..16], train.Count, test.Count);
    }
}
