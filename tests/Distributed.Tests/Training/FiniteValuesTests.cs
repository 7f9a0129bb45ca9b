using Distributed.ParameterServer;

namespace Distributed.Tests.Training;

public sealed class FiniteValuesTests
{
    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void A_single_non_finite_value_anywhere_is_found(float bad)
    {
        foreach (var length in new[] { 1, 7, 16, 33, 1000 })
        {
            for (var position = 0; position < length; position += Math.Max(1, length / 5))
            {
                var values = Enumerable.Range(0, length).Select(i => (float)i - 3.5f).ToArray();
                values[position] = bad;
                Assert.False(FiniteValues.All(values), $"missed {bad} at {position} of {length}");
            }
        }
    }

    [Fact]
    public void Finite_values_pass_including_the_extremes()
    {
        float[] values = [float.MaxValue, float.MinValue, float.Epsilon, -0f, 0f, 1e-40f, .. Enumerable.Repeat(3f, 40)];
        Assert.True(FiniteValues.All(values));
        Assert.True(FiniteValues.All([]));
    }

    [Fact]
    public void The_description_says_how_many_values_are_bad_and_where_the_first_is()
    {
        float[] buffer = [1f, 2f, float.NaN, 4f, float.PositiveInfinity];
        Assert.Equal("2 non-finite values, the first (NaN) at gradient index 2", FiniteValues.Describe(buffer, parameterCount: 3));
        Assert.EndsWith("at running statistic index 4", FiniteValues.Describe([1f, 2f, 3f, 4f, float.PositiveInfinity], 3));
    }
}
