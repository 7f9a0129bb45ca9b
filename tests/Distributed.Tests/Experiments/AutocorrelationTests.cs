using Distributed.Model.GradientHealth;

namespace Distributed.Tests.Experiments;

public class AutocorrelationTests
{
    private static double[] WhiteNoise(int n, int seed)
    {
        var random = new Random(seed);
        // Box–Muller: System.Random has no Gaussian of its own.
        return Enumerable.Range(0, n)
            .Select(_ => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))
            .ToArray();
    }

    private static double[] BrownNoise(int n, int seed)
    {
        var steps = WhiteNoise(n, seed);
        var walk = new double[n];
        for (var i = 1; i < n; i++) walk[i] = walk[i - 1] + steps[i];
        return walk;
    }

    [Fact]
    public void White_noise_is_uncorrelated_at_every_positive_lag()
    {
        var acf = Autocorrelation.Centered(WhiteNoise(4096, seed: 1), maxLag: 10);

        Assert.Equal(1.0, acf[0], precision: 12);
        // One standard error is 1/√4096 ≈ 0.016.
        Assert.All(acf.Skip(1), r => Assert.InRange(r, -0.06, 0.06));
        Assert.InRange(Autocorrelation.NeighbourCorrelation(WhiteNoise(4096, seed: 2)), -0.06, 0.06);
    }

    [Fact]
    public void Brown_noise_is_correlated_close_to_one_at_small_lags()
    {
        var walk = BrownNoise(4096, seed: 3);

        var acf = Autocorrelation.Centered(walk, maxLag: 4);

        Assert.All(acf.Skip(1), r => Assert.True(r > 0.9, $"lag correlation {r}"));
        Assert.True(Autocorrelation.NeighbourCorrelation(walk) > 0.99);
    }

    [Fact]
    public void A_constant_sequence_counts_as_perfectly_correlated_rather_than_nan()
    {
        double[] constant = [2.5, 2.5, 2.5, 2.5, 2.5, 2.5];
        double[] zeros = new double[6];

        Assert.All(Autocorrelation.Centered(constant, maxLag: 3), r => Assert.Equal(1.0, r));
        Assert.All(Autocorrelation.Uncentered(zeros, maxLag: 3), r => Assert.Equal(1.0, r));
        Assert.Equal(1.0, Autocorrelation.NeighbourCorrelation(constant), precision: 12);
        Assert.Equal(1.0, Autocorrelation.NeighbourCorrelation(zeros));
    }

    [Fact]
    public void An_alternating_sequence_is_anticorrelated_at_lag_one_and_correlated_at_lag_two()
    {
        var alternating = Enumerable.Range(0, 100).Select(i => i % 2 == 0 ? 1.0 : -1.0).ToArray();

        var acf = Autocorrelation.Centered(alternating, maxLag: 2);

        // The biased estimator divides the 99 (or 98) overlapping products by all 100 squares.
        Assert.Equal(-0.99, acf[1], precision: 10);
        Assert.Equal(0.98, acf[2], precision: 10);
        Assert.Equal(-1.0, Autocorrelation.NeighbourCorrelation(alternating), precision: 10);
    }

    [Fact]
    public void The_uncentered_statistic_reads_a_constant_offset_as_correlation_and_the_centered_one_does_not()
    {
        var shatteredOnAnOffset = WhiteNoise(2048, seed: 4).Select(g => 10 + g).ToArray();

        Assert.True(Autocorrelation.Uncentered(shatteredOnAnOffset, maxLag: 1)[1] > 0.95);
        Assert.InRange(Autocorrelation.Centered(shatteredOnAnOffset, maxLag: 1)[1], -0.08, 0.08);
    }

    [Fact]
    public void A_lag_outside_the_sequence_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Autocorrelation.Centered([1.0, 2.0, 3.0], maxLag: 3));
        Assert.Throws<ArgumentException>(() => Autocorrelation.Centered([1.0], maxLag: 0));
    }
}
