using Distributed.Experiments;
using Distributed.Model.GradientHealth;
using TorchSharp;
using static TorchSharp.torch;

namespace Distributed.Tests.Experiments;

public class InputGradientTests
{
    private static Tensor Grid(int points) => tensor(ShatteredExperiment.Grid(points), ScalarType.Float64).reshape(-1, 1);

    private static double RelativeDifference(double[] a, double[] b) =>
        Math.Sqrt(a.Zip(b, (p, q) => (p - q) * (p - q)).Sum() / b.Sum(q => q * q));

    [Fact]
    public void One_backward_pass_gives_the_derivative_at_every_point_of_a_network_without_batch_norm()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5, CPU);
        using var network = new ScalarNetwork(Architecture.Plain, depth: 3, width: 32, batchNorm: false, beta: 1,
            Initialization.HeWithBiases, generator, ScalarType.Float64);
        var x = Grid(64);

        var gradient = InputGradients.Compute(network.forward, x).data<double>().ToArray();

        // Central differences, one point at a time, away from kinks at this resolution with overwhelming odds.
        const double h = 1e-6;
        using var noGrad = no_grad();
        var finite = Enumerable.Range(0, 64).Select(i =>
        {
            var xi = x[i].reshape(1, 1);
            return (network.forward(xi + h).item<double>() - network.forward(xi - h).item<double>()) / (2 * h);
        }).ToArray();
        Assert.True(RelativeDifference(gradient, finite) < 1e-5, $"relative difference {RelativeDifference(gradient, finite)}");
    }

    [Fact]
    public void Frozen_batch_statistics_give_the_jacobian_diagonal_up_to_the_small_coupling_through_the_statistics()
    {
        using var scope = NewDisposeScope();
        using var frozenGenerator = new Generator(9, CPU);
        using var liveGenerator = new Generator(9, CPU);
        using var frozen = new ScalarNetwork(Architecture.Plain, depth: 4, width: 64, batchNorm: true, beta: 1,
            Initialization.He, frozenGenerator, ScalarType.Float64);
        using var live = new ScalarNetwork(Architecture.Plain, depth: 4, width: 64, batchNorm: true, beta: 1,
            Initialization.He, liveGenerator, ScalarType.Float64, detachNormStatistics: false);
        var x = Grid(128);

        var perPoint = InputGradients.Compute(frozen.forward, x).data<double>().ToArray();

        // The exact ∂y_i/∂x_i with statistics that depend on every x_j: one backward pass per point.
        var xr = x.detach().clone().requires_grad_(true);
        var y = live.forward(xr).reshape(-1);
        var diagonal = Enumerable.Range(0, 128)
            .Select(i => autograd.grad([y[i]], [xr], retain_graph: true)[0][i, 0].item<double>())
            .ToArray();
        // And what summing the outputs of the live network would have reported instead.
        var summed = InputGradients.Compute(live.forward, x).data<double>().ToArray();

        Assert.True(RelativeDifference(diagonal, perPoint) < 0.1, $"diagonal vs frozen: {RelativeDifference(diagonal, perPoint)}");
        Assert.True(RelativeDifference(summed, diagonal) > 0.5, $"summed vs diagonal: {RelativeDifference(summed, diagonal)}");
    }
}
