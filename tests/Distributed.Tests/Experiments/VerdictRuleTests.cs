using Distributed.Experiments;

namespace Distributed.Tests.Experiments;

public class VerdictRuleTests
{
    [Theory]
    [InlineData(-0.45, Agreement.Agrees)]      // 10 % off
    [InlineData(-0.6, Agreement.Agrees)]       // exactly 20 % off
    [InlineData(-0.08, Agreement.Disagrees)]   // the resnet's neighbour exponent against L^-1/2
    [InlineData(-0.7, Agreement.Disagrees)]
    public void An_exponent_agrees_only_within_its_relative_tolerance(double measured, Agreement expected)
    {
        Assert.Equal(expected, VerdictRule.WithinRelative(measured, -0.5, 0.2));
    }

    [Fact]
    public void The_uncertainty_of_a_measurement_widens_the_band_but_a_band_wider_than_the_tolerance_decides_nothing()
    {
        // 0.35 is 30 % below 0.5: outside 20 % alone, inside once two standard errors of 0.05 are added.
        Assert.Equal(Agreement.Disagrees, VerdictRule.WithinRelative(0.35, 0.5, 0.2));
        Assert.Equal(Agreement.Agrees, VerdictRule.WithinRelative(0.35, 0.5, 0.2, uncertainty: 0.06));
        Assert.Equal(Agreement.Inconclusive, VerdictRule.WithinRelative(0.35, 0.5, 0.2, uncertainty: 0.2));
        Assert.Equal(Agreement.Inconclusive, VerdictRule.WithinRelative(0.35, 0.5, 0.2, uncertainty: double.NaN));
        Assert.Equal(Agreement.Inconclusive, VerdictRule.WithinRelative(double.NaN, 0.5, 0.2));
    }

    [Fact]
    public void An_interval_agrees_when_it_covers_the_prediction_and_is_inconclusive_when_it_is_too_wide()
    {
        Assert.Equal(Agreement.Agrees, VerdictRule.IntervalCovers(0.48, 0.05, 0.5, maxHalfWidth: 0.1));
        Assert.Equal(Agreement.Disagrees, VerdictRule.IntervalCovers(0.3, 0.05, 0.5, maxHalfWidth: 0.1));
        Assert.Equal(Agreement.Inconclusive, VerdictRule.IntervalCovers(0.3, 0.5, 0.5, maxHalfWidth: 0.1));
    }

    [Fact]
    public void A_bound_is_inconclusive_when_it_lies_within_the_measurements_uncertainty()
    {
        Assert.Equal(Agreement.Agrees, VerdictRule.Below(0.02, 0.1, uncertainty: 0.05));
        Assert.Equal(Agreement.Inconclusive, VerdictRule.Below(0.08, 0.1, uncertainty: 0.05));
        Assert.Equal(Agreement.Disagrees, VerdictRule.Below(0.2, 0.1, uncertainty: 0.05));
        Assert.Equal(Agreement.Disagrees, VerdictRule.Below(0.1, 0.1));
        Assert.Equal(Agreement.Agrees, VerdictRule.Above(0.78, 0.5, uncertainty: 0.1));
        Assert.Equal(Agreement.Disagrees, VerdictRule.Above(0.3, 0.5, uncertainty: 0.1));
    }

    [Fact]
    public void A_range_agrees_inside_disagrees_outside_and_is_inconclusive_across_an_end()
    {
        Assert.Equal(Agreement.Agrees, VerdictRule.Between(0.5, 0.4, 0.6));
        Assert.Equal(Agreement.Disagrees, VerdictRule.Between(0.7, 0.4, 0.6, uncertainty: 0.05));
        Assert.Equal(Agreement.Inconclusive, VerdictRule.Between(0.58, 0.4, 0.6, uncertainty: 0.05));
    }

    [Fact]
    public void A_claim_of_several_parts_disagrees_if_any_part_does_and_agrees_only_if_all_do()
    {
        Assert.Equal(Agreement.Agrees, VerdictRule.All(Agreement.Agrees, Agreement.Agrees));
        Assert.Equal(Agreement.Inconclusive, VerdictRule.All(Agreement.Agrees, Agreement.Inconclusive));
        Assert.Equal(Agreement.Disagrees, VerdictRule.All(Agreement.Inconclusive, Agreement.Disagrees, Agreement.Agrees));
        Assert.Equal(Agreement.Inconclusive, VerdictRule.All());
    }

    [Fact]
    public void A_printed_verdict_names_its_rule_and_says_what_a_disagreeing_measurement_suggests()
    {
        var verdict = new Verdict("resnet: R ∝ L^-1/2", "L^-0.08", "exponent −0.5", "within 20 %",
            VerdictRule.WithinRelative(-0.08, -0.5, 0.2), Suggestion: "a slower power law");

        Assert.Equal("[DISAGREES] resnet: R ∝ L^-1/2: measured L^-0.08, expected exponent −0.5 (within 20 %). Measurement suggests: a slower power law",
            verdict.ToString());
    }
}
