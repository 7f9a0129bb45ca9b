using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Model.GradientHealth;

/// <summary>
/// How one rectifier layer fired on a batch during live training, measured on its pre-activations (a unit is on
/// when its input is &gt; 0, which is also when its output is &gt; 0).
/// </summary>
/// <param name="ActiveFraction">Mean over units (channel × position) and inputs of 1[on].</param>
/// <param name="DeadFraction">
/// Fraction of channels (filters) that are off at every position for every input of the batch: a dead filter
/// passes no gradient to its weights. Counted per channel because single positions at an image's constant border
/// are legitimately always off.
/// </param>
/// <param name="CoActivation">
/// Balduzzi et al. (2017): for each unit, the fraction of pairs of distinct inputs on which it is on for both,
/// averaged over units. Independent fair-coin units give 1/4 (what batch norm holds a layer near); units that are
/// always on or always off push it toward the always-on fraction.
/// </param>
public sealed record LiveActivationStatistics(double ActiveFraction, double DeadFraction, double CoActivation)
{
    /// <param name="preActivations">[batch, channels, ...] (any trailing spatial dimensions) or [batch, units].</param>
    public static LiveActivationStatistics Measure(Tensor preActivations)
    {
        if (preActivations.dim() < 2) throw new ArgumentException("Expected a [batch, channels, ...] tensor.", nameof(preActivations));
        var batch = preActivations.shape[0];
        if (batch < 2) throw new ArgumentException("Co-activation needs at least two inputs.", nameof(preActivations));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // One pass over the activations (compare, then count over the batch); everything after works on the small
        // per-unit counts. Float32 counts are exact far beyond any batch size.
        var perUnit = preActivations.detach().gt(0).to_type(ScalarType.Float32).sum(dim: 0).reshape(preActivations.shape[1], -1).to_type(ScalarType.Float64);
        var units = (double)perUnit.numel();
        var activeFraction = perUnit.sum().item<double>() / (units * batch);
        // Per unit with k of B inputs on, k(k - 1) of the B(B - 1) ordered pairs of distinct inputs are both on.
        var pairs = (perUnit * (perUnit - 1)).sum().item<double>() / (units * batch * (double)(batch - 1));
        var dead = perUnit.amax([1]).eq(0).to_type(ScalarType.Float64).mean().item<double>();
        return new LiveActivationStatistics(activeFraction, dead, pairs);
    }
}
