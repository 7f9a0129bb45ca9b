using Distributed.Experiments;
using Distributed.Model.GradientHealth;
using Distributed.Protocol;

namespace Distributed.Tests.Experiments;

/// <summary>The verdict rules of <c>experiment depth</c> on made-up sweeps whose answer is known.</summary>
public class DepthClaimTests
{
    private static DepthRun Run(Distributed.Protocol.Architecture architecture, int depth, double finalLoss, double stemToLastConv = 5) => new(
        new ModelSpec(architecture, depth, 1, NormKind.Batch, 1, 28, 28, 10), 1000, 10,
        [new DepthEpoch(1, finalLoss, 0.8, finalLoss, 0.8, 1)], [],
        [new GradientSnapshot(0, 2.3, [new ParameterGradientNorm("stem", stemToLastConv), new ParameterGradientNorm("last-conv", 1), new ParameterGradientNorm("fc", 1)])],
        0, 1);

    private static IReadOnlyList<Verdict> Claims(double plainShallow, double plainDeep, double resShallow, double resDeep, double stemToLastConv = 5) =>
        DepthExperiment.EvaluateClaims(new DepthResults(DepthOptions.Quick,
        [
            Run(Distributed.Protocol.Architecture.Plain, 8, plainShallow), Run(Distributed.Protocol.Architecture.Plain, 32, plainDeep, stemToLastConv),
            Run(Distributed.Protocol.Architecture.Residual, 8, resShallow), Run(Distributed.Protocol.Architecture.Residual, 32, resDeep),
        ], [], "test"));

    private static Agreement Outcome(IReadOnlyList<Verdict> claims, string start) => claims.Single(c => c.Claim.StartsWith(start)).Outcome;

    [Fact]
    public void The_quick_runs_measured_losses_agree_with_every_claim()
    {
        // plain-8 1.35, plain-32 1.65, resnet-8 1.27, resnet-32 0.90: the figures DepthOptions.Quick records.
        var claims = Claims(1.35, 1.65, 1.27, 0.90);

        Assert.All(claims, c => Assert.Equal(Agreement.Agrees, c.Outcome));
        Assert.Equal(4, claims.Count);
    }

    [Fact]
    public void A_deeper_plain_net_that_trains_better_is_reported_as_disagreeing_with_degradation()
    {
        var claims = Claims(1.35, 1.00, 1.27, 0.90);

        Assert.Equal(Agreement.Disagrees, Outcome(claims, "Degradation"));
        Assert.Contains("Measurement suggests: no degradation", claims.Single(c => c.Claim.StartsWith("Degradation")).ToString());
    }

    [Fact]
    public void A_gap_inside_the_seed_to_seed_spread_is_inconclusive_not_a_confirmation()
    {
        Assert.Equal(Agreement.Inconclusive, Outcome(Claims(1.35, 1.38, 1.27, 0.90), "Degradation"));
    }

    [Fact]
    public void A_deeper_resnet_that_degrades_and_a_vanishing_stem_gradient_are_reported_as_disagreeing()
    {
        var claims = Claims(1.35, 1.65, 1.00, 1.30, stemToLastConv: 0.01);

        Assert.Equal(Agreement.Disagrees, Outcome(claims, "No degradation with shortcuts"));
        Assert.Equal(Agreement.Disagrees, Outcome(claims, "Not vanishing gradients"));
    }
}
