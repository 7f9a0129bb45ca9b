using Distributed.Model.GradientHealth;
using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Tests.Experiments;

public class CoActivationTests
{
    [Fact]
    public void Units_that_flip_independent_fair_coins_per_input_co_activate_a_quarter_of_the_time()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(11, CPU);
        var preActivations = randn([2000, 64], ScalarType.Float64, generator: generator);

        var stats = CoActivation.Measure(preActivations);

        Assert.InRange(stats.ActiveFraction, 0.48, 0.52);
        Assert.InRange(stats.CoActivation, 0.23, 0.27);
        Assert.InRange(stats.NeighbourCorrelationFactor, 0.45, 0.55);
        Assert.Equal(0.0, stats.DeadOrLinearFraction);
    }

    [Fact]
    public void Units_that_are_always_on_or_always_off_co_activate_at_the_share_of_always_on_units()
    {
        using var scope = NewDisposeScope();
        // 10 inputs; units 0–2 on for every input, units 3–5 off for every input.
        var preActivations = cat([ones(10, 3, ScalarType.Float64), -ones(10, 3, ScalarType.Float64)], dim: 1);

        var stats = CoActivation.Measure(preActivations);

        Assert.Equal(0.5, stats.CoActivation, precision: 12);
        Assert.Equal(1.0, stats.DeadOrLinearFraction, precision: 12);
        // Neighbours always share the pattern: the layer does not decorrelate their gradients at all.
        Assert.Equal(1.0, stats.NeighbourCorrelationFactor, precision: 12);
    }

    [Fact]
    public void Co_activation_counts_only_pairs_of_distinct_inputs()
    {
        using var scope = NewDisposeScope();
        // One unit active for exactly 2 of 4 inputs: ordered distinct pairs both active = 2 of 12.
        var preActivations = tensor(new double[] { 1, 1, -1, -1 }).reshape(4, 1);

        var stats = CoActivation.Measure(preActivations);

        Assert.Equal(2.0 / 12.0, stats.CoActivation, precision: 12);
        Assert.Equal(0.5, stats.ActiveFraction, precision: 12);
        // Neighbour pairs (0,1), (1,2), (2,3): only the first is both active.
        Assert.Equal(1.0 / 3.0, stats.NeighbourCoActivation, precision: 12);
    }
}
