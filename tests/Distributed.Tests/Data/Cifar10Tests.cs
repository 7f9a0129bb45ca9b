using Distributed.Model.Data;

namespace Distributed.Tests.Data;

public sealed class Cifar10Tests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Cifar10_loader_returns_labels_and_rgb_planes_exactly_across_batches(bool compressed)
    {
        var labels1 = new byte[] { 3, 9 };
        var labels2 = new byte[] { 0 };
        var testLabels = new byte[] { 7, 1 };
        var pixels1 = TestFiles.RandomBytes(2 * 3072, seed: 1);
        var pixels2 = TestFiles.RandomBytes(1 * 3072, seed: 2);
        var testPixels = TestFiles.RandomBytes(2 * 3072, seed: 3);
        TestFiles.Write(_directory.File("data_batch_1.bin"), TestFiles.CifarBatch(labels1, pixels1), compressed);
        TestFiles.Write(_directory.File("data_batch_2.bin"), TestFiles.CifarBatch(labels2, pixels2), compressed);
        TestFiles.Write(_directory.File("test_batch.bin"), TestFiles.CifarBatch(testLabels, testPixels), compressed);

        var data = Cifar10.Load(_directory.Path);

        Assert.Equal("cifar10/train", data.Train.Name);
        Assert.Equal((3, 32, 32, 10), (data.Train.Channels, data.Train.Height, data.Train.Width, data.Train.ClassCount));
        Assert.Equal([3, 9, 0], data.Train.Labels.ToArray());
        Assert.Equal([.. pixels1, .. pixels2], data.Train.Pixels.ToArray());
        Assert.Equal(testLabels, data.Test.Labels.ToArray());
        Assert.Equal(testPixels, data.Test.Pixels.ToArray());
    }

    [Fact]
    public void Cifar10_loader_keeps_the_red_green_blue_planes_in_chw_order()
    {
        // One image: red plane all 10, green all 20, blue all 30, except the top-right red pixel.
        var pixels = new byte[3072];
        pixels.AsSpan(0, 1024).Fill(10);
        pixels.AsSpan(1024, 1024).Fill(20);
        pixels.AsSpan(2048, 1024).Fill(30);
        pixels[31] = 255;
        File.WriteAllBytes(_directory.File("data_batch_1.bin"), TestFiles.CifarBatch([5], pixels));
        File.WriteAllBytes(_directory.File("test_batch.bin"), TestFiles.CifarBatch([5], pixels));

        var image = Cifar10.Load(_directory.Path).Train.Pixels.Span;

        Assert.Equal(255, image[0 * 1024 + 0 * 32 + 31]);
        Assert.Equal(10, image[0 * 1024 + 1 * 32 + 31]);
        Assert.Equal(20, image[1 * 1024 + 31]);
        Assert.Equal(30, image[2 * 1024 + 31 * 32 + 31]);
    }

    [Fact]
    public void Cifar10_loader_finds_the_batches_in_the_cifar_10_batches_bin_subfolder()
    {
        string nested = Directory.CreateDirectory(_directory.File("cifar-10-batches-bin")).FullName;
        File.WriteAllBytes(Path.Combine(nested, "data_batch_4.bin"), TestFiles.CifarBatch([1, 2], new byte[2 * 3072]));
        File.WriteAllBytes(Path.Combine(nested, "test_batch.bin"), TestFiles.CifarBatch([3], new byte[3072]));

        var data = Cifar10.Load(_directory.Path);

        Assert.Equal([1, 2], data.Train.Labels.ToArray());
        Assert.Equal([3], data.Test.Labels.ToArray());
    }

    [Fact]
    public void Cifar10_loader_names_both_directories_searched_when_there_is_no_training_batch()
    {
        File.WriteAllBytes(_directory.File("unrelated.bin"), [1]);

        var error = Assert.Throws<DatasetFormatException>(() => Cifar10.Load(_directory.Path));

        Assert.Contains("CIFAR-10 training batches not found", error.Message);
        Assert.Contains(_directory.Path + " and ", error.Message);
        Assert.Contains("cifar-10-batches-bin (which does not exist)", error.Message);
        Assert.Contains("data_batch_1.bin..data_batch_5.bin", error.Message);
    }

    [Fact]
    public void Cifar10_loader_names_the_missing_test_batch_and_the_directory()
    {
        File.WriteAllBytes(_directory.File("data_batch_1.bin"), TestFiles.CifarBatch([1], new byte[3072]));

        var error = Assert.Throws<DatasetFormatException>(() => Cifar10.Load(_directory.Path));

        Assert.Equal(_directory.File("test_batch.bin"), error.FilePath);
        Assert.Contains($"searched {_directory.Path} for test_batch.bin", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Cifar10_loader_rejects_a_file_whose_size_is_not_a_multiple_of_3073(bool compressed)
    {
        File.WriteAllBytes(_directory.File("data_batch_1.bin"), TestFiles.CifarBatch([1], new byte[3072]));
        string test = TestFiles.Write(_directory.File("test_batch.bin"),
            TestFiles.CifarBatch([1, 2], new byte[2 * 3072])[..^5], compressed);

        var error = Assert.Throws<DatasetFormatException>(() => Cifar10.Load(_directory.Path));

        Assert.Equal(test, error.FilePath);
        Assert.Contains("size 6141 bytes", error.Message);
        Assert.Contains("is not a multiple of 3073", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Cifar10_loader_reports_an_empty_batch_file(bool compressed)
    {
        string train = TestFiles.Write(_directory.File("data_batch_2.bin"), [], compressed);
        File.WriteAllBytes(_directory.File("test_batch.bin"), TestFiles.CifarBatch([1], new byte[3072]));

        var error = Assert.Throws<DatasetFormatException>(() => Cifar10.Load(_directory.Path));

        Assert.Equal(train, error.FilePath);
        Assert.StartsWith("file is empty", error.Problem);
    }

    [Fact]
    public void Cifar10_loader_names_the_sample_and_value_of_a_label_out_of_range()
    {
        string train = _directory.File("data_batch_1.bin");
        File.WriteAllBytes(train, TestFiles.CifarBatch([0, 9, 12], new byte[3 * 3072]));
        File.WriteAllBytes(_directory.File("test_batch.bin"), TestFiles.CifarBatch([1], new byte[3072]));

        var error = Assert.Throws<DatasetFormatException>(() => Cifar10.Load(_directory.Path));

        Assert.Equal($"{train}: label 12 of sample 2 is out of range 0..9", error.Message);
    }

    [Fact]
    public void Cifar10_loader_reports_corrupt_gzip_naming_the_file()
    {
        var gzip = TestFiles.Gzip(TestFiles.CifarBatch([1], TestFiles.RandomBytes(3072, seed: 5)));
        gzip.AsSpan(10).Fill(0xFF);
        string train = _directory.File("data_batch_1.bin");
        File.WriteAllBytes(train, gzip);
        File.WriteAllBytes(_directory.File("test_batch.bin"), TestFiles.CifarBatch([1], new byte[3072]));

        var error = Assert.Throws<DatasetFormatException>(() => Cifar10.Load(_directory.Path));

        Assert.StartsWith($"{train}: corrupt gzip data", error.Message);
    }
}
