using Distributed.Model.Data;

namespace Distributed.Tests.Data;

/// <summary>End-to-end check against the real files installed by Debian's dataset-fashion-mnist package.</summary>
public sealed class RealFashionMnistTests
{
    [Fact]
    public void Real_fashion_mnist_loads_from_the_default_directory_with_the_published_shape_and_statistics()
    {
        DatasetPair data;
        try
        {
            // A null path must mean the default directory.
            data = DatasetCatalog.Load("fashion-mnist", null);
        }
        catch (DatasetFormatException e)
        {
            Assert.Fail($"Fashion-MNIST is not usable in {FashionMnist.DefaultDirectory} "
                + $"(install it with: apt-get install -y dataset-fashion-mnist): {e.Message}");
            return;
        }

        Assert.Equal((60_000, 10_000), (data.Train.Count, data.Test.Count));
        Assert.Equal((1, 28, 28, 10), (data.Train.Channels, data.Train.Height, data.Train.Width, data.Train.ClassCount));
        Assert.Equal((1, 28, 28, 10), (data.Test.Channels, data.Test.Height, data.Test.Width, data.Test.ClassCount));
        var trainPerClass = data.Train.Labels.ToArray().CountBy(l => l).ToDictionary();
        Assert.Equal(Enumerable.Range(0, 10).ToDictionary(k => (byte)k, _ => 6000), trainPerClass);
        var testPerClass = data.Test.Labels.ToArray().CountBy(l => l).ToDictionary();
        Assert.Equal(Enumerable.Range(0, 10).ToDictionary(k => (byte)k, _ => 1000), testPerClass);

        // Published Fashion-MNIST training statistics: mean 0.2860, std 0.3530.
        var normalization = PixelStatistics.FromDataset(data.Train);
        Assert.Equal(0.286, normalization.Mean[0], 0.001);
        Assert.Equal(0.353, normalization.Std[0], 0.001);
    }
}
