namespace Distributed.Model.Data;

/// <summary>Resolves the dataset names the command line accepts.</summary>
public static class DatasetCatalog
{
    public const string FashionMnistName = "fashion-mnist";
    public const string Cifar10Name = "cifar10";
    public const string SyntheticName = "synthetic";

    /// <summary>Synthetic data has Fashion-MNIST's shape and size, so it stands in for it in throughput runs.</summary>
    public const int SyntheticTrainCount = 60_000;
    public const int SyntheticTestCount = 10_000;

    /// <summary>
    /// <paramref name="name"/> is "fashion-mnist", "cifar10" or "synthetic", in any case. A null
    /// <paramref name="path"/> means <see cref="FashionMnist.DefaultDirectory"/> for Fashion-MNIST; CIFAR-10 has
    /// no standard location and needs one; synthetic data is generated and takes none.
    /// </summary>
    public static DatasetPair Load(string name, string? path)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            FashionMnistName => FashionMnist.Load(string.IsNullOrEmpty(path) ? FashionMnist.DefaultDirectory : path),
            Cifar10Name => string.IsNullOrEmpty(path)
                ? throw new ArgumentException(
                    "Dataset 'cifar10' needs a path: the directory holding data_batch_1.bin..data_batch_5.bin and "
                    + $"test_batch.bin (or their {Cifar10.ArchiveFolder}/ folder).", nameof(path))
                : Cifar10.Load(path),
            SyntheticName => string.IsNullOrEmpty(path)
                ? SyntheticDataset.Create(SyntheticTrainCount, SyntheticTestCount)
                : throw new ArgumentException(
                    $"Dataset 'synthetic' is generated in memory and takes no path, but got '{path}'.", nameof(path)),
            _ => throw new ArgumentException(
                $"Unknown dataset '{name}'; expected {FashionMnistName}, {Cifar10Name} or {SyntheticName}.", nameof(name)),
        };
    }
}
