using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Model.GradientHealth;

/// <summary>
/// The shattering index of Balduzzi et al. (2017) for a live image model: walk a straight path in input space
/// from one training sample to another, take the gradient of the loss with respect to the input at each of
/// <c>points</c> evenly spaced points, and measure how correlated the gradients at neighbouring points are.
/// Smooth ("brown") gradients stay correlated over small lags (index near 1); shattered ("white-noise")
/// gradients decorrelate at once (near 0). The model runs in evaluation mode, so each point's gradient depends
/// on that point alone (batch norm uses its running statistics, not the path's).
/// </summary>
public static class LiveShatteringProbe
{
    public const int DefaultPoints = 16;
    public const int DefaultMaxLag = 3;

    /// <param name="from">One input, [channels, height, width].</param>
    /// <param name="to">The other end of the path, the same shape.</param>
    /// <param name="label">Class whose cross-entropy is differentiated along the whole path (the first sample's).</param>
    /// <returns>Autocorrelation at lags 1..<paramref name="maxLag"/>.</returns>
    public static double[] Measure(nn.Module<Tensor, Tensor> model, Tensor from, Tensor to, long label,
        int points = DefaultPoints, int maxLag = DefaultMaxLag)
    {
        if (points < maxLag + 2) throw new ArgumentException($"a path of {points} points is too short for lags up to {maxLag}");
        using var scope = NewDisposeScope();
        var wasTraining = model.training;
        model.eval();
        try
        {
            var t = linspace(0, 1, points).view(points, 1, 1, 1);
            var path = (from.unsqueeze(0) + t * (to - from).unsqueeze(0)).detach().requires_grad_(true);
            var logits = model.forward(path);
            // A sum of per-point losses: in evaluation mode the gradient at each point is that point's own.
            var loss = nn.functional.cross_entropy(logits, full(points, label, ScalarType.Int64), reduction: nn.Reduction.Sum);
            var gradient = torch.autograd.grad([loss], [path])[0].reshape(points, -1).to_type(ScalarType.Float64);
            return Autocorrelation(gradient, maxLag);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>
    /// ρ(k) = [Σ_t ⟨c_t, c_{t+k}⟩ / (n − k)] / [Σ_t ‖c_t‖² / n], with c_t the gradient at point t minus the mean
    /// gradient over the path: the autocorrelation of a vector-valued sequence, 1 for a constant-direction trend
    /// and about 0 for independent noise. A path with no variation at all gives 1 (nothing shattered).
    /// </summary>
    /// <param name="sequence">[points, dimensions].</param>
    public static double[] Autocorrelation(Tensor sequence, int maxLag)
    {
        using var scope = NewDisposeScope();
        var n = sequence.shape[0];
        if (maxLag < 1 || maxLag >= n) throw new ArgumentException($"lags 1..{maxLag} need a sequence longer than {maxLag}, got {n}");
        var x = sequence.to_type(ScalarType.Float64);
        var centered = x - x.mean([0], keepdim: true);
        var variance = centered.pow(2).sum().item<double>() / n;
        var result = new double[maxLag];
        for (var k = 1; k <= maxLag; k++)
        {
            if (variance <= 0)
            {
                result[k - 1] = 1;
                continue;
            }
            var covariance = (centered.narrow(0, 0, n - k) * centered.narrow(0, k, n - k)).sum().item<double>() / (n - k);
            result[k - 1] = covariance / variance;
        }
        return result;
    }
}
