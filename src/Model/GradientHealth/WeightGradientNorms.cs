using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Model.GradientHealth;

/// <summary>Frobenius norm of one parameter's gradient, named as the module names it.</summary>
public sealed record ParameterGradientNorm(string Name, double Norm);

/// <summary>
/// Per-layer ‖∂L/∂W‖ after a backward pass: the vanishing-gradient signature is a norm that falls geometrically
/// from the output layer toward the input layer. Biases and normalisation parameters are skipped, because their
/// gradients scale differently and would blur that signature.
/// </summary>
public static class WeightGradientNorms
{
    /// <summary>
    /// Norms of the gradients of every parameter named "…weight" with at least two dimensions, in registration
    /// order (for a sequential stack: input layer first). Parameters without a gradient are skipped.
    /// </summary>
    public static IReadOnlyList<ParameterGradientNorm> Measure(nn.Module module)
    {
        var norms = new List<ParameterGradientNorm>();
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (!name.EndsWith("weight", StringComparison.Ordinal) || parameter.dim() < 2) continue;
            // The grad property hands out a fresh wrapper of the parameter's gradient; disposing it releases only
            // the wrapper's reference, not the gradient.
            using var grad = parameter.grad;
            if (grad is null) continue;
            using var norm = grad.to_type(ScalarType.Float64).norm();
            norms.Add(new ParameterGradientNorm(name, norm.item<double>()));
        }
        return norms;
    }
}
