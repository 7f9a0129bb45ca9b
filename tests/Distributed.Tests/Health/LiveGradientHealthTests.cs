using Distributed.Coordinator;
using Distributed.ParameterServer;
using Distributed.Training;
using Distributed.Model.GradientHealth;
using Distributed.Protocol;
using Distributed.Worker;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using Distributed.Model.Nets;

namespace Distributed.Tests.Health;

/// <summary>Gradient-health figures on cases whose answer is known.</summary>
public sealed class LiveGradientHealthTests(ITestOutputHelper output)
{
    /// <summary>
    /// 20 square sigmoid layers: each multiplies the backward signal by at most σ' ≤ 1/4 times a weight matrix of
    /// norm ~1 (PyTorch's default init), so the first layer's gradient is many orders below the last one's.
    /// </summary>
    [Fact]
    public void A_deep_plain_sigmoid_net_shows_a_vanishing_first_to_last_gradient_ratio_and_a_warning()
    {
        var statistics = SquareNetStatistics(depth: 20, residual: false);
        output.WriteLine($"plain sigmoid, depth 20: first/last {statistics.FirstToLastGradientRatio:E2}");

        Assert.True(statistics.FirstToLastGradientRatio < 1e-4, $"ratio {statistics.FirstToLastGradientRatio:E2} does not show vanishing gradients");
        var warnings = statistics.Warnings();
        Assert.Contains(warnings, w => w.Layer == "layer0" && w.Problem == LiveGradientProblem.Vanishing);
        Assert.DoesNotContain(warnings, w => w.Problem == LiveGradientProblem.Exploding);
    }

    /// <summary>h ← h + β·tanh(W h) with β = 0.1: every block is nearly the identity, so the backward signal and the layer inputs barely change with depth.</summary>
    [Fact]
    public void An_identity_like_residual_net_keeps_the_first_to_last_gradient_ratio_near_one()
    {
        var statistics = SquareNetStatistics(depth: 20, residual: true);
        output.WriteLine($"residual, depth 20: first/last {statistics.FirstToLastGradientRatio:F3}");

        Assert.InRange(statistics.FirstToLastGradientRatio, 0.5, 2.0);
        Assert.Empty(statistics.Warnings());
    }

    [Fact]
    public void Update_ratio_and_norms_are_the_l2_norms_of_each_layers_slice()
    {
        var layers = new[] { new LiveLayer("a", 0, 2), new LiveLayer("b", 2, 1) };
        float[] gradient = [3, 4, 2];
        float[] before = [6, 8, -4];
        float[] after = [5.7f, 7.6f, -4];

        var statistics = LiveLayerStatistics.Compute(layers, gradient, before, after);

        Assert.Equal(5, statistics.Layers[0].GradientNorm, 6);
        Assert.Equal(10, statistics.Layers[0].WeightNorm, 6);
        Assert.Equal(0.05, statistics.Layers[0].UpdateRatio, 5);
        Assert.Equal(0, statistics.Layers[1].UpdateRatio);
        Assert.Equal(2.5, statistics.FirstToLastGradientRatio, 6);
        Assert.Equal(Math.Sqrt(29), statistics.GlobalGradientNorm, 6);
    }

    [Fact]
    public void An_update_larger_than_the_weights_and_a_non_finite_gradient_are_explosions()
    {
        var layers = new[] { new LiveLayer("steady", 0, 1), new LiveLayer("jumps", 1, 1), new LiveLayer("broken", 2, 1) };
        var statistics = LiveLayerStatistics.Compute(layers, [1f, 1f, float.NaN], [1f, 1f, 1f], [0.99f, -2f, 1f]);

        var warnings = statistics.Warnings();

        Assert.Equal(["jumps", "broken"], warnings.Select(w => w.Layer));
        Assert.All(warnings, w => Assert.Equal(LiveGradientProblem.Exploding, w.Problem));
    }

    /// <summary>
    /// Channel 0 is on for all four inputs, channel 1 for one, channel 2 for none (dead). Co-activation per unit is
    /// k(k−1)/(B(B−1)): 1, 0 and 0.
    /// </summary>
    [Fact]
    public void Activation_statistics_count_active_units_dead_channels_and_co_active_pairs_of_inputs()
    {
        using var pre = tensor(new float[] { 1, -1, -1, 2, -1, -5, 3, 2, -1, 1, -3, -2 }).view(4, 3, 1);

        var statistics = LiveActivationStatistics.Measure(pre);

        Assert.Equal(5.0 / 12, statistics.ActiveFraction, 9);
        Assert.Equal(1.0 / 3, statistics.DeadFraction, 9);
        Assert.Equal(1.0 / 3, statistics.CoActivation, 9);
    }

    [Fact]
    public void Independent_fair_coin_units_co_activate_on_a_quarter_of_input_pairs()
    {
        using var generator = new Generator(7);
        using var pre = randn([256, 64, 4, 4], generator: generator);

        var statistics = LiveActivationStatistics.Measure(pre);

        Assert.InRange(statistics.ActiveFraction, 0.48, 0.52);
        Assert.InRange(statistics.CoActivation, 0.23, 0.27);
        Assert.Equal(0, statistics.DeadFraction);
    }

    [Fact]
    public void Autocorrelation_is_high_for_a_smooth_trend_and_near_zero_for_white_noise()
    {
        using var generator = new Generator(3);
        using var t = arange(16, ScalarType.Float64).view(16, 1);
        using var direction = randn([1, 500], ScalarType.Float64, generator: generator);
        using var trend = t * direction;
        using var noise = randn([16, 500], ScalarType.Float64, generator: generator);

        var smooth = LiveShatteringProbe.Autocorrelation(trend, 3);
        var white = LiveShatteringProbe.Autocorrelation(noise, 3);

        output.WriteLine($"trend ρ = {string.Join(", ", smooth.Select(r => r.ToString("F3")))}; noise ρ = {string.Join(", ", white.Select(r => r.ToString("F3")))}");
        Assert.True(smooth[0] > 0.8, $"trend ρ(1) = {smooth[0]:F3}");
        Assert.True(smooth[0] > smooth[1] && smooth[1] > smooth[2], "a trend's autocorrelation falls with the lag");
        Assert.All(white, r => Assert.InRange(r, -0.15, 0.15));
    }

    /// <summary>A linear classifier's input gradient is Wᵀ(p − y): it turns smoothly along any path, nothing shattered.</summary>
    [Fact]
    public void A_linear_classifier_has_smooth_input_gradients_along_a_path()
    {
        using var generator = new Generator(5);
        var model = nn.Sequential(("flatten", nn.Flatten()), ("fc", nn.Linear(1 * 8 * 8, 10)));
        using var from = randn([1, 8, 8], generator: generator);
        using var to = randn([1, 8, 8], generator: generator);

        var rho = LiveShatteringProbe.Measure(model, from, to, label: 3);

        output.WriteLine($"linear classifier ρ = {string.Join(", ", rho.Select(r => r.ToString("F3")))}");
        Assert.Equal(LiveShatteringProbe.DefaultMaxLag, rho.Length);
        Assert.True(rho[0] > 0.8, $"ρ(1) = {rho[0]:F3}");
        Assert.True(model.training, "the probe must leave the model in the mode it found it");
    }

    /// <summary>
    /// The probe rides on the step's own forward pass and recomputes batch norm inside hooks; the gradient and
    /// running statistics the worker returns must be exactly those of an unprobed step.
    /// </summary>
    [Fact]
    public void A_probed_shard_returns_the_same_gradient_and_statistics_as_an_unprobed_one_plus_health_for_every_rectifier()
    {
        var model = new ModelSpec(Architecture.Residual, 8, 1, NormKind.Batch, 1, 28, 28, 10);
        var configuration = new ConfigureWorker(model, new DataSpec("synthetic", null, 2, true, TrainLimit: 200, TestLimit: 10), 3);
        var state = RunModel.Build(model, 3).InitialState;
        var indices = Enumerable.Range(0, 48).ToArray();
        using var plainTrainer = new ShardTrainer(configuration);
        using var probedTrainer = new ShardTrainer(configuration);
        var request = new WorkRequest(1, WorkKind.Train, 0, 0, 0, indices, state);
        Assert.True(plainTrainer.TryLoadWeights(request));
        Assert.True(probedTrainer.TryLoadWeights(request with { ProbeHealth = true }));

        var plain = plainTrainer.Run(request);
        var probed = probedTrainer.Run(request with { ProbeHealth = true });

        Assert.Null(plain.Health);
        Assert.Equal(plain.Buffer, probed.Buffer);
        Assert.Equal(plain.LossSum, probed.LossSum);
        var health = Assert.IsType<ShardHealth>(probed.Health);
        Assert.Equal(["stem.relu", "layer1.0.relu1", "layer1.0.relu2", "layer2.0.relu1", "layer2.0.relu2", "layer3.0.relu1", "layer3.0.relu2"],
            health.Layers.Select(l => l.Layer));
        foreach (var layer in health.Layers)
        {
            output.WriteLine($"{layer.Layer}: active {layer.ActiveFraction:F3} dead {layer.DeadFraction:F3} co-activation {layer.CoActivation:F3}");
            Assert.InRange(layer.ActiveFraction, 0.05, 0.95);
            Assert.InRange(layer.CoActivation, 0, layer.ActiveFraction);
        }
        // Directly after batch norm each unit is on for about half the inputs: co-activation near 1/4 (Balduzzi et al.).
        Assert.InRange(health.Layers.Where(l => l.Layer.EndsWith("relu1", StringComparison.Ordinal)).Average(l => l.CoActivation), 0.15, 0.35);
        Assert.Equal(LiveShatteringProbe.DefaultMaxLag, health.ShatteringAutocorrelation.Length);
        Assert.All(health.ShatteringAutocorrelation, r => Assert.InRange(r, -1.0001, 1.0001));
        Assert.True(probed.HealthMilliseconds > 0);
        output.WriteLine($"compute {probed.ComputeMilliseconds:F1} ms, health {probed.HealthMilliseconds:F1} ms, shattering ρ {string.Join(", ", health.ShatteringAutocorrelation.Select(r => r.ToString("F3")))}");
    }

    /// <summary>Trains nothing: one backward pass through 16-wide square layers, returning each layer's gradient statistics.</summary>
    private static LiveLayerStatistics SquareNetStatistics(int depth, bool residual)
    {
        const int width = 16;
        using var scope = NewDisposeScope();
        using var generator = new Generator(11);
        var layers = Enumerable.Range(0, depth).Select(_ => nn.Linear(width, width, hasBias: false)).ToList();
        foreach (var layer in layers)
        {
            using var noGrad = no_grad();
            var bound = 1 / Math.Sqrt(width);
            layer.weight!.uniform_(-bound, bound, generator);
        }
        var x = randn([64, width], generator: generator);
        var labels = randint(0, width, [64], generator: generator);
        var h = x;
        foreach (var layer in layers) h = residual ? h + 0.1 * tanh(layer.forward(h)) : sigmoid(layer.forward(h));
        nn.functional.cross_entropy(h, labels).backward();

        var gradient = layers.SelectMany(l => l.weight!.grad!.data<float>().ToArray()).ToArray();
        var weights = layers.SelectMany(l => l.weight!.data<float>().ToArray()).ToArray();
        var after = weights.Zip(gradient, (w, g) => w - 0.01f * g).ToArray();
        var slices = layers.Select((_, i) => new LiveLayer($"layer{i}", i * width * width, width * width)).ToList();
        return LiveLayerStatistics.Compute(slices, gradient, weights, after);
    }
}
