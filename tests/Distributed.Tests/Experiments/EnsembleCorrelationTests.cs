using Distributed.Experiments;

namespace Distributed.Tests.Experiments;

public class EnsembleCorrelationTests
{
    private static double[][] Draw(int seeds, int points, Func<Random, int, double[]> row)
    {
        var random = new Random(7);
        return Enumerable.Range(0, seeds).Select(s => row(random, points)).ToArray();
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    [Fact]
    public void Gradients_that_differ_between_seeds_but_not_between_inputs_are_perfectly_correlated()
    {
        // One random scale per network, the same at every input: the ensemble sees R = 1 at any distance.
        var gradients = Draw(16, 32, (r, n) => Enumerable.Repeat(Gaussian(r), n).ToArray());

        var (correlation, stdErr, pairs) = EnsembleCorrelation.Measure(gradients, lag: 5);

        Assert.Equal(1.0, correlation, precision: 12);
        Assert.Equal(0.0, stdErr, precision: 12);
        Assert.Equal(27, pairs);
    }

    [Fact]
    public void Independent_gradients_are_uncorrelated_within_a_few_standard_errors()
    {
        var gradients = Draw(64, 64, (r, n) => Enumerable.Range(0, n).Select(_ => Gaussian(r)).ToArray());

        var (correlation, stdErr, _) = EnsembleCorrelation.Measure(gradients, lag: 3);

        Assert.InRange(stdErr, 0.001, 0.1);
        Assert.InRange(correlation, -4 * stdErr, 4 * stdErr);
    }

    [Fact]
    public void Gradients_with_a_known_correlation_between_the_two_inputs_measure_it()
    {
        // ∇(x + lag) = ρ·∇(x) + √(1 − ρ²)·noise, so R = ρ = 0.6 exactly in expectation.
        const double rho = 0.6;
        var gradients = Draw(400, 2, (r, _) =>
        {
            var a = Gaussian(r);
            return [a, rho * a + Math.Sqrt(1 - rho * rho) * Gaussian(r)];
        });

        var (correlation, stdErr, pairs) = EnsembleCorrelation.Measure(gradients, lag: 1);

        Assert.Equal(1, pairs);
        Assert.InRange(correlation, rho - 4 * stdErr, rho + 4 * stdErr);
        Assert.InRange(stdErr, 0.005, 0.08);
    }

    [Theory]
    [InlineData(1.0, 256, 64)]
    [InlineData(0.25, 256, 16)]
    [InlineData(0.001, 256, 1)]
    public void A_distance_is_rounded_to_whole_grid_steps_and_never_to_zero(double distance, int points, int lag)
    {
        Assert.Equal(lag, EnsembleCorrelation.Lag(distance, points));
    }
}
