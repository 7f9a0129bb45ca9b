using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distributed.Experiments;

public enum Activation { Sigmoid, Relu }

/// <summary>
/// A classifier MLP for the vanishing-gradient probe. Depth counts activation layers and the net has depth + 1
/// weight layers either way. Plain: x → depth × [Linear → act] → Linear. Residual: a linear stem, depth − 1 blocks
/// h ← h + β·Linear(act(h)), then Linear(act(h)). Fields are declared input to output so that
/// <c>named_parameters()</c>, and with it the per-layer norms, run in layer order.
/// </summary>
public sealed class ProbeMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc_in;
    private readonly ModuleList<Linear> layers;
    private readonly Linear fc_out;

    private readonly Activation _activation;
    private readonly bool _residual;
    private readonly double _beta;

    public ProbeMlp(int inputs, int width, int classes, int depth, Activation activation, bool residual, double beta,
        Generator generator, ScalarType dtype) : base(nameof(ProbeMlp))
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "Depth counts activation layers; at least 1.");
        _activation = activation;
        _residual = residual;
        _beta = beta;
        fc_in = nn.Linear(inputs, width, hasBias: true, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, depth - 1).Select(_ => nn.Linear(width, width, hasBias: true, dtype: dtype)).ToArray());
        fc_out = nn.Linear(width, classes, hasBias: true, dtype: dtype);
        RegisterComponents();

        // Variance gain/fan_in: layers reading a sigmoid get gain 1 (Glorot's choice for a square layer, the
        // setting of the σ' ≤ 1/4 argument), layers reading a ReLU get He's 2, the stem reads raw inputs and gets 1.
        // Zero biases: the probe is about the multiplicative chain, not about offsets.
        var gain = activation == Activation.Relu ? 2.0 : 1.0;
        Initialize(fc_in, 1.0, generator);
        foreach (var layer in layers) Initialize(layer, gain, generator);
        Initialize(fc_out, gain, generator);
    }

    public override Tensor forward(Tensor x)
    {
        var h = fc_in.forward(x);
        if (!_residual)
        {
            h = Activate(h);
            foreach (var layer in layers) h = Activate(layer.forward(h));
            return fc_out.forward(h);
        }
        foreach (var layer in layers) h = h + _beta * layer.forward(Activate(h));
        return fc_out.forward(Activate(h));
    }

    private Tensor Activate(Tensor h) => _activation == Activation.Relu ? nn.functional.relu(h) : nn.functional.sigmoid(h);

    private static void Initialize(Linear layer, double gain, Generator generator)
    {
        ScalarNetwork.Draw(layer.weight, Math.Sqrt(gain / layer.weight.shape[1]), generator);
        using var noGrad = no_grad();
        layer.bias!.zero_();
    }
}
