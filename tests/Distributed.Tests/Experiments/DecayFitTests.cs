using Distributed.Experiments;

namespace Distributed.Tests.Experiments;

public class DecayFitTests
{
    private static readonly double[] Depths = [1, 2, 4, 8, 12, 16];
    private static readonly double[] NoFloor = Depths.Select(_ => 0.0).ToArray();

    [Fact]
    public void An_exponential_fit_recovers_the_base_of_a_pure_exponential()
    {
        var values = Depths.Select(l => 0.8 * Math.Pow(0.5, l)).ToArray();

        var fit = DecayFit.Exponential(Depths, values, NoFloor)!;

        Assert.Equal(0.5, Math.Exp(fit.Slope), precision: 10);
        Assert.Equal(1.0, fit.RSquared, precision: 10);
    }

    [Fact]
    public void A_power_law_fit_recovers_the_exponent_of_a_pure_power_law()
    {
        var values = Depths.Select(l => Math.Pow(l, -0.5)).ToArray();

        var fit = DecayFit.PowerLaw(Depths, values, NoFloor)!;

        Assert.Equal(-0.5, fit.Slope, precision: 10);
    }

    [Fact]
    public void Points_at_or_below_their_noise_floor_are_left_out_of_the_fit()
    {
        double[] values = [0.5, 0.25, 0.0625, -0.01, 0.02, 0.001];
        double[] floors = [0.05, 0.05, 0.05, 0.05, 0.05, 0.05];

        var fit = DecayFit.Exponential(Depths, values, floors)!;

        Assert.Equal(3, fit.Points);
        Assert.Equal(0.5, Math.Exp(fit.Slope), precision: 10);
    }

    [Fact]
    public void Fewer_than_two_usable_points_give_no_fit()
    {
        Assert.Null(DecayFit.Exponential([1, 2], [0.5, -0.1], [0.0, 0.0]));
    }
}
