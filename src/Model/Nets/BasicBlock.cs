using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

using Distributed.Protocol;

namespace Distributed.Model.Nets;

/// <summary>
/// The two-convolution block of He et al. (2016). With a skip connection the block computes
/// relu(shortcut(x) + β·F(x)), so its Jacobian is I + β·J; the plain twin computes relu(F(x)) with the same layers.
/// The shortcut is parameter-free ("option A": stride-2 subsampling plus zero channels), so both twins have
/// exactly the same parameters.
/// </summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly nn.Module<Tensor, Tensor> norm1;
    private readonly Conv2d conv2;
    private readonly nn.Module<Tensor, Tensor> norm2;
    private readonly bool _residual;
    private readonly float _residualScale;
    private readonly int _stride;
    private readonly long _extraChannels;

    public BasicBlock(string name, int inPlanes, int planes, int stride, ModelSpec spec) : base(name)
    {
        var convBias = spec.Norm == NormKind.None;
        conv1 = nn.Conv2d(inPlanes, planes, 3, stride: stride, padding: 1, bias: convBias);
        norm1 = NormalizationLayers.Create(spec.Norm, planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: 1, padding: 1, bias: convBias);
        norm2 = NormalizationLayers.Create(spec.Norm, planes);
        _residual = spec.Architecture == Architecture.Residual;
        _residualScale = spec.ResidualScale;
        _stride = stride;
        _extraChannels = planes - inPlanes;
        RegisterComponents();
    }

    /// <summary>The normalization layer that ends the residual branch (zero-initialised on request).</summary>
    internal nn.Module<Tensor, Tensor> LastNorm => norm2;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var branch = norm2.forward(conv2.forward(F.relu(norm1.forward(conv1.forward(x)))));
        if (!_residual) return F.relu(branch).MoveToOuterDisposeScope();

        var shortcut = x;
        if (_stride != 1 || _extraChannels != 0)
        {
            shortcut = x[TensorIndex.Colon, TensorIndex.Colon,
                TensorIndex.Slice(null, null, _stride), TensorIndex.Slice(null, null, _stride)];
            var low = _extraChannels / 2;
            shortcut = F.pad(shortcut, [0, 0, 0, 0, low, _extraChannels - low]);
        }
        var sum = _residualScale == 1f ? shortcut + branch : shortcut + branch * _residualScale;
        return F.relu(sum).MoveToOuterDisposeScope();
    }
}
