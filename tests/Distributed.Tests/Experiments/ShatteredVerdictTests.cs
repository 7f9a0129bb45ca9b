using Distributed.Experiments;

namespace Distributed.Tests.Experiments;

/// <summary>The verdict rules of <c>experiment shattered</c> on made-up series whose answer is known.</summary>
public class ShatteredVerdictTests
{
    private static readonly int[] Depths = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 50];

    private static List<EnsemblePoint> Series(string variant, Func<int, double> r, double stdErr = 0.005) =>
        Depths.Select(l => new EnsemblePoint(variant, l, 0.25, 64, r(l), stdErr, 200)).ToList();

    private static ShatteredPoint Neighbour(string variant, int depth, double r) =>
        new(variant, depth, 8, r, 0.005, [1, r], [1, r], 0.25, 0.25, 0.5, 0, 0.52, 1);

    [Fact]
    public void A_plain_net_whose_ensemble_correlation_halves_per_layer_agrees_with_two_to_the_minus_L()
    {
        var fit = ShatteredVerdicts.FitEnsemble(ShatteredVariant.Find("plain-bn"), Series("plain-bn", l => 0.9 * Math.Pow(0.5, l)));

        Assert.Equal(Agreement.Agrees, fit.Verdict.Outcome);
        Assert.Equal(0.5, fit.Base, precision: 6);
    }

    [Fact]
    public void A_resnet_decaying_as_L_to_the_minus_0_08_is_reported_as_disagreeing_with_L_to_the_minus_half()
    {
        var fit = ShatteredVerdicts.FitEnsemble(ShatteredVariant.Find("resnet-bn"), Series("resnet-bn", l => 0.85 * Math.Pow(l, -0.08)));

        Assert.Equal(Agreement.Disagrees, fit.Verdict.Outcome);
        Assert.Contains("L^-0.08", fit.Verdict.Suggestion);
        Assert.StartsWith("[DISAGREES]", fit.Verdict.ToString());
    }

    [Fact]
    public void A_resnet_decaying_as_L_to_the_minus_half_agrees()
    {
        var fit = ShatteredVerdicts.FitEnsemble(ShatteredVariant.Find("resnet-bn"), Series("resnet-bn", l => 0.85 / Math.Sqrt(l)));

        Assert.Equal(Agreement.Agrees, fit.Verdict.Outcome);
    }

    [Fact]
    public void Correlations_lost_in_noise_leave_too_few_depths_and_the_verdict_is_inconclusive()
    {
        var fit = ShatteredVerdicts.FitEnsemble(ShatteredVariant.Find("plain-bn"), Series("plain-bn", l => l == 1 ? 0.95 : 0.01, stdErr: 0.02));

        Assert.Equal(Agreement.Inconclusive, fit.Verdict.Outcome);
    }

    [Fact]
    public void The_neighbour_fit_of_a_resnet_is_judged_against_L_to_the_minus_half_and_disagrees_when_it_is_six_times_slower()
    {
        var points = new[] { 1, 4, 12, 24, 50 }.Select(l => Neighbour("resnet-bn", l, 0.99 * Math.Pow(l, -0.082))).ToList();

        var fit = ShatteredVerdicts.FitNeighbours(ShatteredVariant.Find("resnet-bn"), points);

        Assert.Equal(Agreement.Disagrees, fit.Verdict.Outcome);
        Assert.Equal(-0.082, fit.Exponent!.Value, precision: 6);
    }

    [Fact]
    public void Every_batch_normed_variant_has_an_ensemble_prediction_and_no_other_does()
    {
        Assert.All(ShatteredVariant.All, v => Assert.Equal(v.BatchNorm, v.EnsembleExpectation is not null));
        Assert.Equal(0.75, ShatteredVariant.Find("resnet-bn-rescaled").EnsembleExpectation!.Value, precision: 12);
        Assert.Equal(DecayShape.PowerLaw, ShatteredVariant.Find("resnet-bn-beta0.1").EnsembleExpectation!.Shape);
    }
}
