using Distributed.Model.Data;

namespace Distributed.Tests.Data;

public sealed class ImageDatasetTests
{
    [Fact]
    public void Image_dataset_exposes_its_shape_and_derives_count_and_sample_size()
    {
        var dataset = new ImageDataset("tiny", 3, 2, 4, 5, new byte[2 * 24], [4, 0]);

        Assert.Equal((2, 3, 2, 4, 5, 24), (dataset.Count, dataset.Channels, dataset.Height, dataset.Width,
            dataset.ClassCount, dataset.SampleSize));
    }

    [Fact]
    public void Image_dataset_rejects_a_pixel_buffer_that_does_not_match_the_label_count()
    {
        var error = Assert.Throws<ArgumentException>(() => new ImageDataset("tiny", 1, 2, 2, 10, new byte[7], [1, 2]));

        Assert.Equal("pixels", error.ParamName);
        Assert.Contains("needs 2 x 1x2x2 = 8 pixel bytes, but 7 were given", error.Message);
    }

    [Fact]
    public void Image_dataset_names_the_sample_whose_label_is_out_of_range()
    {
        var error = Assert.Throws<ArgumentException>(() => new ImageDataset("tiny", 1, 1, 1, 3, new byte[3], [2, 0, 3]));

        Assert.Contains("label 3 of sample 2 is out of range 0..2", error.Message);
    }

    [Fact]
    public void Image_dataset_is_not_changed_by_later_writes_to_the_arrays_it_was_built_from()
    {
        byte[] pixels = [1, 2], labels = [0, 1];
        var dataset = new ImageDataset("tiny", 1, 1, 1, 2, pixels, labels);

        pixels[0] = 99;
        labels[0] = 1;

        Assert.Equal([1, 2], dataset.Pixels.ToArray());
        Assert.Equal([0, 1], dataset.Labels.ToArray());
    }

    [Fact]
    public void Take_returns_the_first_samples_with_their_labels()
    {
        var dataset = new ImageDataset("tiny", 1, 1, 2, 4, [1, 2, 3, 4, 5, 6], [3, 2, 1]);

        var firstTwo = dataset.Take(2);

        Assert.Equal(2, firstTwo.Count);
        Assert.Equal([1, 2, 3, 4], firstTwo.Pixels.ToArray());
        Assert.Equal([3, 2], firstTwo.Labels.ToArray());
        Assert.Equal("tiny[:2]", firstTwo.Name);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(-1)]
    public void Take_rejects_counts_outside_one_to_the_dataset_size(int count)
    {
        var dataset = new ImageDataset("tiny", 1, 1, 1, 2, [1, 2, 3], [0, 1, 0]);

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => dataset.Take(count));

        Assert.Contains($"Can take 1..3 samples from dataset 'tiny', not {count}", error.Message);
    }
}
