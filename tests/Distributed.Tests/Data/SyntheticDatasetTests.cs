using Distributed.Model.Data;

namespace Distributed.Tests.Data;

public sealed class SyntheticDatasetTests
{
    [Fact]
    public void Synthetic_data_is_identical_for_the_same_seed_and_different_for_another()
    {
        var first = SyntheticDataset.Create(200, 50, seed: 3);
        var again = SyntheticDataset.Create(200, 50, seed: 3);
        var other = SyntheticDataset.Create(200, 50, seed: 4);

        Assert.Equal(first.Train.Pixels.ToArray(), again.Train.Pixels.ToArray());
        Assert.Equal(first.Test.Pixels.ToArray(), again.Test.Pixels.ToArray());
        Assert.Equal(first.Train.Labels.ToArray(), again.Train.Labels.ToArray());
        Assert.NotEqual(first.Train.Pixels.ToArray(), other.Train.Pixels.ToArray());
    }

    [Fact]
    public void Synthetic_data_has_the_requested_shape_and_balanced_labels()
    {
        var data = SyntheticDataset.Create(300, 70, channels: 3, height: 12, width: 16, classCount: 6);

        Assert.Equal((300, 3, 12, 16, 6), (data.Train.Count, data.Train.Channels, data.Train.Height, data.Train.Width,
            data.Train.ClassCount));
        Assert.Equal(70, data.Test.Count);
        Assert.All(data.Train.Labels.ToArray().CountBy(l => l), pair => Assert.Equal(50, pair.Value));
        Assert.Equal(6, data.Train.Labels.ToArray().Distinct().Count());
    }

    [Fact]
    public void Synthetic_train_and_test_samples_are_different_draws()
    {
        var data = SyntheticDataset.Create(10, 10);

        Assert.NotEqual(data.Train.Pixels.ToArray(), data.Test.Pixels.ToArray());
        Assert.Equal(data.Train.Labels.ToArray(), data.Test.Labels.ToArray());
    }

    [Theory]
    [InlineData(1, 28, 28, 10)]
    [InlineData(3, 32, 32, 10)]
    public void Synthetic_classes_are_learnable_a_nearest_class_mean_rule_beats_chance_by_far(
        int channels, int height, int width, int classCount)
    {
        var data = SyntheticDataset.Create(2000, 500, channels, height, width, classCount, seed: 5);
        int size = data.Train.SampleSize;
        var means = new double[classCount, size];
        var train = data.Train.Pixels.Span;
        for (int i = 0; i < data.Train.Count; i++)
        {
            int label = data.Train.Labels.Span[i];
            for (int p = 0; p < size; p++)
            {
                means[label, p] += train[i * size + p] / (double)(data.Train.Count / classCount);
            }
        }

        int correct = 0;
        var test = data.Test.Pixels.Span;
        for (int i = 0; i < data.Test.Count; i++)
        {
            int best = -1;
            double bestDistance = double.MaxValue;
            for (int k = 0; k < classCount; k++)
            {
                double distance = 0;
                for (int p = 0; p < size; p++)
                {
                    double d = test[i * size + p] - means[k, p];
                    distance += d * d;
                }

                if (distance < bestDistance)
                {
                    (best, bestDistance) = (k, distance);
                }
            }

            correct += best == data.Test.Labels.Span[i] ? 1 : 0;
        }

        // Chance is 10%.
        Assert.InRange(correct / (double)data.Test.Count, 0.9, 1.0);
    }
}
