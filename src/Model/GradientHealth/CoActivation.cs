using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Model.GradientHealth;

/// <summary>How often a rectifier layer's units fire on a batch, alone and together.</summary>
/// <param name="ActiveFraction">a = mean over units and inputs of 1[pre-activation &gt; 0]; 1/2 for a symmetric layer.</param>
/// <param name="CoActivation">
/// c = mean over units n and over pairs of distinct inputs i ≠ j of 1[unit n on at x_i]·1[unit n on at x_j].
/// </param>
/// <param name="NeighbourCoActivation">
/// The same restricted to consecutive rows (x_i, x_{i+1}); meaningful when rows are ordered inputs, as on a grid.
/// </param>
/// <param name="DeadOrLinearFraction">Fraction of units that are off for every input or on for every input.</param>
public sealed record ActivationStatistics(double ActiveFraction, double CoActivation, double NeighbourCoActivation, double DeadOrLinearFraction)
{
    /// <summary>
    /// c_neighbour / a: the factor by which this layer multiplies the correlation of the gradients at two
    /// neighbouring inputs in Balduzzi et al.'s mean-field argument (covariance picks up c, variance a, per layer,
    /// under He scaling). 1 when neighbours share their activation pattern, 1/2 when the patterns are independent
    /// fair coins, which is where their 2^-L comes from.
    /// </summary>
    public double NeighbourCorrelationFactor => ActiveFraction > 0 ? NeighbourCoActivation / ActiveFraction : 1.0;
}

/// <summary>
/// The co-activation rate of Balduzzi et al. (2017). Their gradient covariance argument needs, for each unit,
/// E[D(x_i) D(x_j)] = 1/4 for two different inputs (each unit a fair coin per input) against E[D(x_i)] = 1/2:
/// it is the 1/4 that turns He initialisation's variance-preserving factor 2 into a covariance factor 1/2 per
/// layer, hence 2^-L. We therefore define co-activation per unit over pairs of inputs (not over pairs of units for
/// one input), averaged over the units of a layer. Units that are on for all inputs or off for all inputs (the
/// layer acting linearly or dead) push it to the fraction of always-on units, typically toward 1/2; batch
/// normalisation centres every unit over the batch and holds it near 1/4.
/// </summary>
public static class CoActivation
{
    /// <param name="preActivations">[batch, units] inputs to a ReLU (or any unit whose "on" means &gt; 0).</param>
    public static ActivationStatistics Measure(Tensor preActivations)
    {
        if (preActivations.dim() != 2) throw new ArgumentException("Expected a [batch, units] tensor.", nameof(preActivations));
        var batch = preActivations.shape[0];
        if (batch < 2) throw new ArgumentException("Co-activation needs at least two inputs.", nameof(preActivations));

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var active = preActivations.detach().gt(0).to_type(ScalarType.Float64);
        // Per unit with k active inputs out of B, the ordered pairs of distinct inputs both active number
        // k(k − 1) out of B(B − 1): no B×B matrix needed. The dimension is named because a literal 0 would bind
        // to the sum(ScalarType) overload and count in bytes.
        var perUnitCount = active.sum(dim: 0);
        var pairsBothActive = perUnitCount * (perUnitCount - 1) / (double)(batch * (batch - 1));
        var neighboursBothActive = active[..^1] * active[1..];
        var alwaysSame = perUnitCount.eq(0).logical_or(perUnitCount.eq(batch)).to_type(ScalarType.Float64);
        return new ActivationStatistics(
            active.mean().item<double>(),
            pairsBothActive.mean().item<double>(),
            neighboursBothActive.mean().item<double>(),
            alwaysSame.mean().item<double>());
    }
}
