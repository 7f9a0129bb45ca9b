using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distributed.Experiments;

/// <summary>Plain stack of rectifier layers, or a pre-activation residual stack h ← h + β·W·ReLU(h).</summary>
public enum Architecture { Plain, Residual }

/// <summary>How weights and biases are drawn; the three schemes separate the effects that decide shattering.</summary>
public enum Initialization
{
    /// <summary>He et al. 2015: W ~ N(0, 2/fan_in) before a ReLU, N(0, 1/fan_in) elsewhere; zero biases.</summary>
    He,

    /// <summary>He weights plus biases ~ N(0, 1/width), the bias scale of the udlbook notebook.</summary>
    HeWithBiases,

    /// <summary>
    /// udlbook notebook 11.1: every weight and bias ~ N(0, 1/width), the 1-input first layer included
    /// (what it calls Glorot: He without the factor 2).
    /// </summary>
    Udlbook,
}

/// <summary>
/// A network from one scalar to one scalar, the probe of Balduzzi et al. (2017). Depth counts rectifier layers:
/// plain depth L is x → L × [Linear → (norm) → ReLU] → Linear; residual depth L is a linear stem, L blocks
/// h ← h + β·Linear(ReLU(norm(h))) (optionally rescaled by 1/√(1 + β²)), and a linear read-out of h.
/// </summary>
public sealed class ScalarNetwork : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc_in;
    private readonly ModuleList<Linear> layers;
    private readonly ModuleList<BatchStatisticsNorm> norms;
    private readonly Linear fc_out;

    private readonly Architecture _architecture;
    private readonly double _beta;
    private readonly double _streamScale;

    public ScalarNetwork(Architecture architecture, int depth, int width, bool batchNorm, double beta,
        Initialization initialization, Generator generator, ScalarType dtype = ScalarType.Float32,
        bool detachNormStatistics = true, bool rescaleStream = false) : base(nameof(ScalarNetwork))
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "Depth counts rectifier layers; at least 1.");
        _architecture = architecture;
        _beta = beta;
        // h ← (h + β·F(h)) / √(1 + β²) keeps the stream's variance constant, so every block's branch carries the
        // same share β²/(1 + β²) of the backward signal; without it the share falls like 1/(1 + β²·l).
        _streamScale = rescaleStream ? 1 / Math.Sqrt(1 + beta * beta) : 1;

        var hidden = architecture == Architecture.Plain ? depth - 1 : depth;
        fc_in = nn.Linear(1, width, hasBias: true, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, hidden)
            .Select(_ => nn.Linear(width, width, hasBias: true, dtype: dtype)).ToArray());
        norms = nn.ModuleList(Enumerable.Range(0, batchNorm ? depth : 0)
            .Select(_ => new BatchStatisticsNorm(detachNormStatistics)).ToArray());
        fc_out = nn.Linear(width, 1, hasBias: true, dtype: dtype);
        RegisterComponents();

        // He's gain 2 compensates a ReLU halving the second moment: plain layers feed a ReLU, residual branch
        // layers read a rectified input (so the stream's variance grows by 1 + β² per block, as Balduzzi et al.
        // assume); the residual stem reads the raw input and keeps gain 1, and the read-out's gain only scales the
        // gradient, never its correlation, so it keeps 1 too.
        var stemGain = architecture == Architecture.Plain ? 2.0 : 1.0;
        Initialize(fc_in, fanIn: 1, stemGain, width, initialization, generator);
        foreach (var layer in layers)
            Initialize(layer, fanIn: width, gain: 2.0, width, initialization, generator);
        Initialize(fc_out, fanIn: width, gain: 1.0, width, initialization, generator);
    }

    public override Tensor forward(Tensor x) => Run(x, preActivations: null);

    /// <summary>Forward pass that also hands back (detached) the input of every ReLU, for co-activation.</summary>
    public Tensor ForwardRecording(Tensor x, List<Tensor> preActivations) => Run(x, preActivations);

    private Tensor Run(Tensor x, List<Tensor>? preActivations)
    {
        var h = fc_in.forward(x);
        if (_architecture == Architecture.Plain)
        {
            h = Rectify(h, 0, preActivations);
            for (var i = 0; i < layers.Count; i++)
                h = Rectify(layers[i].forward(h), i + 1, preActivations);
            return fc_out.forward(h);
        }

        for (var i = 0; i < layers.Count; i++)
        {
            h = h + _beta * layers[i].forward(Rectify(h, i, preActivations));
            if (_streamScale != 1) h = h * _streamScale;
        }
        return fc_out.forward(h);
    }

    private Tensor Rectify(Tensor h, int layer, List<Tensor>? preActivations)
    {
        var a = norms.Count > 0 ? norms[layer].forward(h) : h;
        preActivations?.Add(a.detach());
        return nn.functional.relu(a);
    }

    private static void Initialize(Linear layer, int fanIn, double gain, int width,
        Initialization initialization, Generator generator)
    {
        var weightVariance = initialization == Initialization.Udlbook ? 1.0 / width : gain / fanIn;
        Draw(layer.weight, Math.Sqrt(weightVariance), generator);
        if (initialization == Initialization.He)
        {
            using var noGrad = no_grad();
            layer.bias!.zero_();
        }
        else Draw(layer.bias!, Math.Sqrt(1.0 / width), generator);
    }

    /// <summary>
    /// Fills a parameter with N(0, std²) from <paramref name="generator"/>. Not nn.init.normal_: in TorchSharp
    /// 0.107 it ignores its generator argument and draws from the global one, which would make a network's
    /// weights depend on everything drawn before it.
    /// </summary>
    internal static void Draw(Tensor parameter, double std, Generator generator)
    {
        using var noGrad = no_grad();
        using var values = randn(parameter.shape, parameter.dtype, generator: generator);
        parameter.copy_(values.mul_(std));
    }
}

/// <summary>
/// Batch normalisation in training mode without affine parameters (γ = 1, β = 0 at initialisation anyway), whose
/// batch mean and variance are constants to autograd. The forward values are exactly those of training-mode
/// batch norm over the 256 grid points, so this is the function the network computes on that batch; detaching
/// the statistics makes d y_i / d x_i a per-point derivative that one backward pass of Σ y yields. Keeping them
/// attached would add ∂y_j/∂x_i couplings through the statistics, which describe the batch, not the function.
/// </summary>
public sealed class BatchStatisticsNorm : nn.Module<Tensor, Tensor>
{
    private const double Epsilon = 1e-5;
    private readonly bool _detachStatistics;

    public BatchStatisticsNorm(bool detachStatistics = true) : base(nameof(BatchStatisticsNorm))
    {
        _detachStatistics = detachStatistics;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (variance, mean) = x.var_mean(0, unbiased: false, keepdim: true);
        if (_detachStatistics)
        {
            variance = variance.detach();
            mean = mean.detach();
        }
        return (x - mean) / (variance + Epsilon).sqrt();
    }
}
