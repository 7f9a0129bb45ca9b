using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

using Distributed.Protocol;

namespace Distributed.Model.Nets;

/// <summary>
/// The CIFAR-style network of He et al. (2016), section 4.2: a 3x3 stem, three stages of n blocks at widths
/// 16k/32k/64k (stride 2 between stages), global average pooling and a linear classifier; 6n+2 weighted layers.
/// Works for any input channels and image size, e.g. 1x28x28 Fashion-MNIST and 3x32x32 CIFAR-10.
/// </summary>
public sealed class CifarResNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly nn.Module<Tensor, Tensor> norm1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Linear fc;

    public ModelSpec Spec { get; }

    public CifarResNet(ModelSpec spec, int seed = 1) : base(spec.Name)
    {
        Spec = spec.EnsureValid();
        var widths = new[] { 16 * spec.WidthMultiplier, 32 * spec.WidthMultiplier, 64 * spec.WidthMultiplier };
        conv1 = nn.Conv2d(spec.InputChannels, widths[0], 3, stride: 1, padding: 1, bias: spec.Norm == NormKind.None);
        norm1 = NormalizationLayers.Create(spec.Norm, widths[0]);
        layer1 = Stage("layer1", widths[0], widths[0], 1, spec);
        layer2 = Stage("layer2", widths[0], widths[1], 2, spec);
        layer3 = Stage("layer3", widths[1], widths[2], 2, spec);
        fc = nn.Linear(widths[2], spec.ClassCount);
        RegisterComponents();
        InitializeWeights(seed);
    }

    public IEnumerable<BasicBlock> Blocks =>
        new[] { layer1, layer2, layer3 }.SelectMany(stage => stage.children().OfType<BasicBlock>());

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = F.relu(norm1.forward(conv1.forward(x)));
        h = layer3.forward(layer2.forward(layer1.forward(h)));
        h = F.adaptive_avg_pool2d(h, 1).flatten(1);
        return fc.forward(h).MoveToOuterDisposeScope();
    }

    private static Sequential Stage(string name, int inPlanes, int planes, int stride, ModelSpec spec)
    {
        var blocks = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (var i = 0; i < spec.BlocksPerStage; i++)
        {
            blocks.Add(($"{i}", new BasicBlock($"{name}.{i}", i == 0 ? inPlanes : planes, planes, i == 0 ? stride : 1, spec)));
        }
        return nn.Sequential(blocks);
    }

    /// <summary>
    /// He initialisation (fan-out, ReLU gain) keeps the forward signal's variance constant through a deep
    /// ReLU stack, which is what lets the plain twins be compared fairly with the residual ones. The classifier
    /// keeps PyTorch's default U(±1/√fan_in). Every draw comes from a generator seeded here, never libtorch's
    /// global one, so the same seed gives the same weights even while other threads create models.
    /// </summary>
    private void InitializeWeights(int seed)
    {
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var module in modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    var fanOut = conv.weight.shape[0] * conv.weight.shape[2] * conv.weight.shape[3];
                    conv.weight.normal_(0, Math.Sqrt(2.0 / fanOut), generator);
                    if (conv.bias is { } convBias) convBias.zero_();
                    break;
                case Linear linear:
                    var bound = 1 / Math.Sqrt(linear.weight.shape[1]);
                    linear.weight.uniform_(-bound, bound, generator);
                    linear.bias?.uniform_(-bound, bound, generator);
                    break;
                case BatchNorm2d batchNorm:
                    batchNorm.weight.fill_(1);
                    batchNorm.bias!.zero_();
                    break;
                case GroupNorm groupNorm:
                    groupNorm.weight!.fill_(1);
                    groupNorm.bias!.zero_();
                    break;
            }
        }
        if (!Spec.ZeroInitLastNorm || Spec.Norm == NormKind.None || Spec.Architecture != Architecture.Residual) return;
        // Zero γ at the end of each residual branch starts every block as the identity (Goyal et al. 2017).
        foreach (var block in Blocks)
        {
            switch (block.LastNorm)
            {
                case BatchNorm2d batchNorm: nn.init.zeros_(batchNorm.weight); break;
                case GroupNorm groupNorm: nn.init.zeros_(groupNorm.weight!); break;
            }
        }
    }
}
