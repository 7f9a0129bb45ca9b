using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Model.GradientHealth;

/// <summary>Per-input derivative of a network's scalar output, for probing the shape of the function it computes.</summary>
public static class InputGradients
{
    /// <summary>
    /// Returns d network(x)_i / d x_i for every row i of <paramref name="inputs"/> ([batch, 1] → [batch]) from a
    /// single backward pass of the summed output. That equals the per-point derivative only when the network
    /// treats batch rows independently; a batch-normalised network must therefore normalise with batch
    /// statistics that are constants to autograd (computed from the batch, then detached), otherwise the sum
    /// picks up Σ_j ∂y_j/∂x_i through the batch mean and variance (for a final mean subtraction it is exactly 0).
    /// The result is detached and lives in the caller's dispose scope.
    /// </summary>
    public static Tensor Compute(Func<Tensor, Tensor> network, Tensor inputs)
    {
        using var scope = NewDisposeScope();
        var x = inputs.detach().clone().requires_grad_(true);
        var y = network(x);
        if (y.shape[0] != x.shape[0] || y.numel() != x.shape[0])
            throw new ArgumentException("The network must map each input row to one scalar.", nameof(network));
        var gradient = autograd.grad([y.sum()], [x])[0];
        return gradient.detach().reshape(-1).MoveToOuterDisposeScope();
    }
}
