using Distributed.Model.Data;

namespace Distributed.Tests.Data;

public sealed class FashionMnistTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fashion_mnist_loader_returns_exactly_the_pixels_and_labels_in_the_files(bool compressed)
    {
        var (train, test) = TestFiles.WriteFashionMnist(_directory.Path, compressed, trainCount: 5, testCount: 3);

        var data = FashionMnist.Load(_directory.Path);

        AssertSplit(data.Train, "fashion-mnist/train", train);
        AssertSplit(data.Test, "fashion-mnist/test", test);
    }

    [Fact]
    public void Fashion_mnist_loader_prefers_the_gz_file_when_both_names_exist()
    {
        var (train, _) = TestFiles.WriteFashionMnist(_directory.Path, compressed: true);
        var stale = TestFiles.RandomBytes(5, seed: 99, maxExclusive: 10);
        TestFiles.Write(_directory.File("train-labels-idx1-ubyte"),
            TestFiles.Idx(TestFiles.LabelsMagic, [5], stale), compressed: false);
        Assert.NotEqual(train.Labels, stale);

        var data = FashionMnist.Load(_directory.Path);

        Assert.Equal(train.Labels, data.Train.Labels.ToArray());
    }

    [Fact]
    public void Fashion_mnist_loader_names_the_missing_file_and_the_directory_searched()
    {
        TestFiles.WriteFashionMnist(_directory.Path, compressed: true);
        File.Delete(_directory.File("t10k-labels-idx1-ubyte.gz"));

        var error = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(_directory.Path));

        Assert.Equal(_directory.File("t10k-labels-idx1-ubyte.gz"), error.FilePath);
        Assert.Contains($"searched directory {_directory.Path} for t10k-labels-idx1-ubyte.gz and t10k-labels-idx1-ubyte",
            error.Message);
    }

    [Fact]
    public void Fashion_mnist_loader_says_so_when_the_directory_does_not_exist()
    {
        string missing = _directory.File("no-such-directory");

        var error = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(missing));

        Assert.Contains($"{missing} (which does not exist)", error.Message);
        Assert.Contains("train-images-idx3-ubyte", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fashion_mnist_reader_names_the_file_when_the_magic_number_is_wrong(bool compressed)
    {
        TestFiles.WriteFashionMnist(_directory.Path, compressed);
        // A classic mix-up: a labels file saved under the images name.
        string images = TestFiles.Write(_directory.File(TestFiles.FashionName("train-images-idx3-ubyte", compressed)),
            TestFiles.Idx(TestFiles.LabelsMagic, [5], [0, 1, 2, 3, 4]), compressed);

        var error = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(_directory.Path));

        Assert.Equal(
            $"{images}: wrong magic number 0x00000801, expected 0x00000803 (IDX3 unsigned-byte images)", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fashion_mnist_loader_names_both_files_and_both_counts_when_they_disagree(bool compressed)
    {
        TestFiles.WriteFashionMnist(_directory.Path, compressed, trainCount: 5);
        string labels = TestFiles.Write(_directory.File(TestFiles.FashionName("train-labels-idx1-ubyte", compressed)),
            TestFiles.Idx(TestFiles.LabelsMagic, [4], [0, 1, 2, 3]), compressed);
        string images = _directory.File(TestFiles.FashionName("train-images-idx3-ubyte", compressed));

        var error = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(_directory.Path));

        Assert.Equal($"{labels}: holds 4 labels but {images} holds 5 images; the counts must match", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fashion_mnist_loader_names_the_sample_and_value_of_a_label_out_of_range(bool compressed)
    {
        TestFiles.WriteFashionMnist(_directory.Path, compressed, testCount: 3);
        string labels = TestFiles.Write(_directory.File(TestFiles.FashionName("t10k-labels-idx1-ubyte", compressed)),
            TestFiles.Idx(TestFiles.LabelsMagic, [3], [9, 0, 10]), compressed);

        var error = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(_directory.Path));

        Assert.Equal($"{labels}: label 10 of sample 2 is out of range 0..9", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fashion_mnist_loader_rejects_images_that_are_not_28x28(bool compressed)
    {
        TestFiles.WriteFashionMnist(_directory.Path, compressed, trainCount: 5);
        string images = TestFiles.Write(_directory.File(TestFiles.FashionName("train-images-idx3-ubyte", compressed)),
            TestFiles.Idx(TestFiles.ImagesMagic, [5, 32, 32], new byte[5 * 32 * 32]), compressed);

        var error = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(_directory.Path));

        Assert.Equal($"{images}: wrong image dimensions 32x32, Fashion-MNIST images are 28x28", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fashion_mnist_loader_reports_a_truncated_image_file_with_expected_and_actual_sizes(bool compressed)
    {
        TestFiles.WriteFashionMnist(_directory.Path, compressed, trainCount: 5);
        var whole = TestFiles.Idx(TestFiles.ImagesMagic, [5, 28, 28], new byte[5 * 28 * 28]);
        string images = TestFiles.Write(_directory.File(TestFiles.FashionName("train-images-idx3-ubyte", compressed)),
            whole[..1000], compressed);

        var error = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(_directory.Path));

        Assert.Equal(images, error.FilePath);
        Assert.Contains("truncated: header says 5x28x28 = 3920 data bytes, file holds 984", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fashion_mnist_loader_reports_an_empty_label_file(bool compressed)
    {
        TestFiles.WriteFashionMnist(_directory.Path, compressed);
        string labels = TestFiles.Write(
            _directory.File(TestFiles.FashionName("train-labels-idx1-ubyte", compressed)), [], compressed);

        var error = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(_directory.Path));

        Assert.Equal(labels, error.FilePath);
        Assert.StartsWith("file is empty", error.Problem);
    }

    [Fact]
    public void Fashion_mnist_loader_reports_corrupt_gzip_naming_the_file()
    {
        TestFiles.WriteFashionMnist(_directory.Path, compressed: true);
        string images = _directory.File("t10k-images-idx3-ubyte.gz");
        var bytes = File.ReadAllBytes(images);
        bytes.AsSpan(10).Fill(0xFF);
        File.WriteAllBytes(images, bytes);

        var error = Assert.Throws<DatasetFormatException>(() => FashionMnist.Load(_directory.Path));

        Assert.StartsWith($"{images}: corrupt gzip data", error.Message);
    }

    private static void AssertSplit(ImageDataset dataset, string name, TestFiles.FashionSplit expected)
    {
        Assert.Equal(name, dataset.Name);
        Assert.Equal(expected.Labels.Length, dataset.Count);
        Assert.Equal((1, 28, 28, 10, 784), (dataset.Channels, dataset.Height, dataset.Width, dataset.ClassCount,
            dataset.SampleSize));
        Assert.Equal(expected.Pixels, dataset.Pixels.ToArray());
        Assert.Equal(expected.Labels, dataset.Labels.ToArray());
    }
}
