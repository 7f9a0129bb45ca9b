using Distributed.Model.Data;

namespace Distributed.Tests.Data;

public sealed class DatasetCatalogTests
{
    [Fact]
    public void Catalog_makes_synthetic_data_shaped_like_fashion_mnist_whatever_the_case_of_the_name()
    {
        var data = DatasetCatalog.Load("Synthetic", null);

        Assert.Equal("synthetic/train", data.Train.Name);
        Assert.Equal((60_000, 10_000, 1, 28, 28, 10), (data.Train.Count, data.Test.Count, data.Train.Channels,
            data.Train.Height, data.Train.Width, data.Train.ClassCount));
    }

    [Fact]
    public void Catalog_loads_fashion_mnist_from_the_given_directory()
    {
        using var directory = new TempDirectory();
        var (train, _) = TestFiles.WriteFashionMnist(directory.Path, compressed: true);

        var data = DatasetCatalog.Load("FASHION-MNIST", directory.Path);

        Assert.Equal(train.Labels, data.Train.Labels.ToArray());
    }

    [Fact]
    public void Catalog_loads_cifar10_from_the_given_directory()
    {
        using var directory = new TempDirectory();
        File.WriteAllBytes(directory.File("data_batch_1.bin"), TestFiles.CifarBatch([4], new byte[3072]));
        File.WriteAllBytes(directory.File("test_batch.bin"), TestFiles.CifarBatch([6], new byte[3072]));

        var data = DatasetCatalog.Load("cifar10", directory.Path);

        Assert.Equal([4], data.Train.Labels.ToArray());
    }

    [Fact]
    public void Catalog_requires_a_path_for_cifar10()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetCatalog.Load("cifar10", null));

        Assert.Equal("path", error.ParamName);
        Assert.Contains("needs a path", error.Message);
    }

    [Fact]
    public void Catalog_refuses_a_path_for_synthetic_data_rather_than_ignore_it()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetCatalog.Load("synthetic", "/data"));

        Assert.Contains("takes no path", error.Message);
    }

    [Fact]
    public void Catalog_lists_the_known_names_when_the_name_is_unknown()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetCatalog.Load("mnist", null));

        Assert.Contains("Unknown dataset 'mnist'; expected fashion-mnist, cifar10 or synthetic", error.Message);
    }
}
